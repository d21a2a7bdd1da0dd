#!/usr/bin/env bash
# The one script to run on a lent GPU host (H100/H200, CUDA + nvcc + PyTorch, no node): unpack the
# carried node, build the cuda addon, run the GPU parity suite, a 200-step CBDM loss curve on cuda
# vs cpu, and the training-step benchmark vs PyTorch eager and torch.compile; writes
# $OUT/device-check.json (one entry per step: name, status ok|failed|skipped, seconds, detail) and
# one log per step under $OUT. Within CBDM_DEVICE_BUDGET_S (default 480 s): a step that would not
# fit in what is left is skipped, saying so.
#
#   scripts/device-pack.sh                   here: .device/node.xz, .device/modules.tar.xz
#   scripts/device-check.sh                  there (carry .device and build/Release)
#   scripts/device-check.sh --dry-run        anywhere: every GPU step reported as skipped (tests)
set -u -o pipefail
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/device-out}
mkdir -p "$OUT"
BUDGET_S=${CBDM_DEVICE_BUDGET_S:-480}
PYTHON=${PYTHON:-python3}   # the Python with PyTorch
START=$(date +%s)
STEPS="$OUT/steps.tsv"
: > "$STEPS"

left() { echo $((BUDGET_S - ($(date +%s) - START))); }
# record NAME STATUS SECONDS DETAIL (tabs and newlines in DETAIL become spaces)
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(printf '%s' "$4" | tr '\t\n' '  ' | cut -c1-2000)" >> "$STEPS"; echo "device-check: $1: $2 ($3 s) $4" | cut -c1-300; }
# run NAME NEED_S CMD...: runs CMD with a timeout of what is left, logging to $OUT/NAME.log
run() {
  local name=$1 need=$2; shift 2
  if [ "$DRY" = 1 ]; then record "$name" skipped 0 "dry run: $*"; return 1; fi
  local l; l=$(left)
  if [ "$l" -lt "$need" ]; then record "$name" skipped 0 "needs ~${need} s, ${l} s left"; return 1; fi
  local t0; t0=$(date +%s)
  timeout "$l" "$@" > "$OUT/$name.log" 2>&1
  local rc=$? dt=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then record "$name" ok "$dt" "$(tail -c 1500 "$OUT/$name.log")"; return 0; fi
  record "$name" failed "$dt" "exit $rc: $(tail -c 1500 "$OUT/$name.log")"
  return 1
}

# ---- 1. node and node_modules (carried: the GPU host has neither) --------------------------------
if ! command -v node > /dev/null; then
  if [ -f .device/node.xz ]; then
    mkdir -p .device/bin && xz -dc .device/node.xz > .device/bin/node && chmod +x .device/bin/node
    export PATH="$ROOT/.device/bin:$PATH"
  fi
fi
if ! command -v node > /dev/null; then
  record node failed 0 "no node on PATH and no .device/node.xz: run scripts/device-pack.sh and carry .device"
else
  [ -d node_modules ] || { [ -f .device/modules.tar.xz ] && tar -xJf .device/modules.tar.xz; }
  if [ -d node_modules/tsx ]; then record node ok 0 "$(node --version)"; else record node failed 0 "node_modules/tsx missing: carry .device/modules.tar.xz"; fi
fi

# ---- 2. the device ---------------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then record device skipped 0 "dry run: nvidia-smi"
elif command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1 > "$OUT/device.txt"
  record device ok 0 "$(cat "$OUT/device.txt")"
else record device failed 0 "nvidia-smi not found"; fi

# cuBLAS: the CUDA install's, else PyTorch's nvidia/cublas wheel (src/engine/cuda/load.ts reads CBDM_CUBLAS).
if [ -z "${CBDM_CUBLAS:-}" ] && [ "$DRY" = 0 ] && ! ls /usr/local/cuda/lib64/libcublas.so* > /dev/null 2>&1; then
  CBDM_CUBLAS=$("$PYTHON" -c "import glob, nvidia.cublas as c; print(sorted(glob.glob(c.__path__[0] + '/lib/libcublas.so*'))[-1])" 2>/dev/null || true)
  [ -n "$CBDM_CUBLAS" ] && export CBDM_CUBLAS
fi

# ---- 3. build: the cuda addon with this host's nvcc (the carried one is used if nvcc is absent) ----
run build 60 node scripts/build-cuda.mjs
run probe 20 node --import tsx -e "import('./src/engine/cuda/load.ts').then(m => { const r = m.loadCudaBackend(); if (!r.ok) { console.error(r.reason); process.exit(1); } console.log(JSON.stringify({ ...r.probe, gemm: r.backend.gemmLibrary() || 'tiled kernel' })); })"

# ---- 4. GPU parity: every op on cuda vs the js reference, the UNet vs PyTorch's outputs -----------
if run parity 120 node --import tsx --test --test-reporter=spec test/engine/ops-core.test.ts test/engine/ops-more.test.ts test/engine/cuda.test.ts test/models/unet.test.ts; then
  n=$(grep -c 'parity cuda vs js' "$OUT/parity.log" || true)
  [ "$n" -gt 0 ] || record parity-ran-on-cuda failed 0 "no 'parity cuda vs js' test ran: the cuda backend was not available to the suite"
fi

# ---- 5. 200-step CBDM loss curve, cuda vs cpu, identical weights, data and random streams ---------
run loss-cuda 90 env CBDM_BACKEND=cuda node --import tsx bench/loss-curve.ts --steps 200 --preset tiny --batch 16
run loss-cpu 120 env CBDM_BACKEND=cpu node --import tsx bench/loss-curve.ts --steps 200 --preset tiny --batch 16
if [ -s "$OUT/loss-cuda.log" ] && [ -s "$OUT/loss-cpu.log" ] && [ "$DRY" = 0 ]; then
  run loss-compare 5 python3 -c "
import json, sys
a = json.loads(open('$OUT/loss-cuda.log').read().strip().splitlines()[-1])['losses']
b = json.loads(open('$OUT/loss-cpu.log').read().strip().splitlines()[-1])['losses']
d = [abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b)]
print(json.dumps({'steps': len(d), 'max_rel_diff': max(d), 'first10_max_rel_diff': max(d[:10]), 'cuda_last': a[-1], 'cpu_last': b[-1]}))
sys.exit(0 if len(a) == len(b) == 200 and max(d[:10]) < 1e-3 and max(d) < 5e-2 else 1)"
fi

# ---- 6. training step at the paper config: ours (cuda, fp32 and TF32 GEMMs) vs PyTorch eager (its
# default: TF32 convolutions, fp32 matmuls), eager with bf16 autocast, and torch.compile ------------
CIFAR='"ch":128,"mult":[1,2,2,2],"attn":[1],"nres":2,"ncls":100,"size":32,"threads":16,"reps":5,"device":"cuda"'
for B in 48 128; do
  run "bench-ours-b$B" 60 env CBDM_BACKEND=cuda node --import tsx src/cli/bin.ts bench train --preset cifar --batch "$B" --no-peer --json --reps 5
  run "bench-ours-tf32-b$B" 60 env CBDM_BACKEND=cuda CBDM_CUDA_MATH=tf32 node --import tsx src/cli/bin.ts bench train --preset cifar --batch "$B" --no-peer --json --reps 5
  run "bench-torch-eager-fp32-b$B" 40 "$PYTHON" bench/peers/train.py "{$CIFAR,\"batch\":$B}"
  run "bench-torch-eager-bf16-b$B" 40 "$PYTHON" bench/peers/train.py "{$CIFAR,\"batch\":$B,\"amp\":\"bf16\"}"
  run "bench-torch-compile-fp32-b$B" 120 "$PYTHON" bench/peers/train.py "{$CIFAR,\"batch\":$B,\"compile\":true,\"warmup\":2}"
done

# ---- 7. model FLOP utilisation: counted FLOPs per image of the step × images/s ÷ the datasheet peak --
run flops 60 env CBDM_BACKEND=cpu node --import tsx bench/train-flops.ts --preset cifar
if [ "$DRY" = 0 ] && [ -s "$OUT/flops.log" ]; then
  run mfu 5 python3 - "$OUT" "$(cat "$OUT/device.txt" 2>/dev/null)" <<'PY'
import glob, json, os, sys
out, device = sys.argv[1], sys.argv[2]
flops = json.loads(open(os.path.join(out, 'flops.log')).read().strip().splitlines()[-1])['flops_per_image_step']
# NVIDIA H100/H200 datasheets, dense TFLOP/s: (FP32, TF32 tensor, BF16 tensor).
peaks = {'H100 PCIe': (51.2, 378.0, 756.0), 'H100': (66.9, 494.7, 989.4), 'H200': (66.9, 494.7, 989.4)}
peak = next((v for k, v in peaks.items() if k in device), None)
rows = []
for f in sorted(glob.glob(os.path.join(out, 'bench-*.log'))):
    name = os.path.basename(f)[:-4]
    text = open(f).read()
    try:
        img_s = json.loads(text)[0]['ours'] if name.startswith('bench-ours') else json.loads(text.strip().splitlines()[-1])['train_img_s']
    except Exception:
        continue
    tflops = flops * img_s / 1e12
    mode = 2 if 'bf16' in name else 1 if 'tf32' in name or 'torch' in name else 0
    rows.append({'run': name, 'img_s': img_s, 'tflops': tflops, 'mfu': tflops / peak[mode] if peak else None,
                 'peak_tflops': peak[mode] if peak else None})
print(json.dumps({'device': device, 'flops_per_image_step': flops, 'runs': rows}))
PY
fi

# ---- results -----------------------------------------------------------------------------------------
COMMIT=$(git rev-parse HEAD 2>/dev/null || cat .device/commit 2>/dev/null || echo unknown)
python3 - "$STEPS" "$OUT/device-check.json" "$COMMIT" "$DRY" "$(( $(date +%s) - START ))" <<'PY'
import json, sys, datetime
steps_file, out, commit, dry, seconds = sys.argv[1:6]
steps = []
for line in open(steps_file, encoding='utf-8'):
    name, status, secs, detail = (line.rstrip('\n').split('\t') + ['', '', '', ''])[:4]
    steps.append({'name': name, 'status': status, 'seconds': int(secs or 0), 'detail': detail})
doc = {'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'), 'commit': commit,
       'dry_run': dry == '1', 'seconds': int(seconds), 'steps': steps}
with open(out + '.tmp', 'w', encoding='utf-8') as f:
    json.dump(doc, f, indent=1)
import os
os.replace(out + '.tmp', out)
PY
echo "device-check: wrote $OUT/device-check.json in $(( $(date +%s) - START )) s"
grep -q $'\tfailed\t' "$STEPS" && exit 1
exit 0
