#!/usr/bin/env bash
# The successor-method comparison (docs/RESULTS.md, "Successor methods under one protocol"):
# DDPM, CBDM, T2H, CORAL (on DDPM), CBDM + CORAL and CM (approximate), several seeds, one
# training recipe and one evaluation protocol per dataset, each final model evaluated at its
# method's published ω and at one ω for all.
#
#   scripts/compare-study.sh --dataset shapes10-lt --out DIR [--workers N] [--seeds 0,1,2]
#                            [--methods ddpm,cbdm,t2h,coral,cbdm-coral,cm,cm-l0.1] [--reuse STUDY_DIR]
#                            [--steps N] [--per-class N] [--omegas 0,1.6,2.4]
#
# Resumable (scripts/study-lib.sh): kill it at any point and run the same command again.
# Runs are DIR/METHOD-sSEED; evaluations DIR/eval/METHOD-sSEED-STEP-wOMEGA/eval.json; the
# protocol (budget, ω per method, flags) DIR/protocol.json; the tables come from
# scripts/compare-report.ts DIR. --seeds and --methods pick what this invocation does
# (seed by seed, each method at both ω before the next method). --steps and --per-class
# replace the protocol's budget and sample count (for a smoke test; a run started with another
# --steps is extended to the new one, since training resumes exactly). --omegas adds an ω sweep:
# each final model also evaluated at these ω (after its published and equal ω), which
# compare-report.ts tables per method, with each method at its ω of lowest all-class domain-FID.
#
# Methods (method_flags in study-lib.sh): ddpm, cbdm, t2h (`--method t2h`, mode t2h as released),
# coral (`--method ddpm --coral`), cbdm-coral (`--method cbdm --coral`), cm (`--method cm`,
# approximate: equations from the paper, released code not read), cm-l0.1 (`--method cm
# --cm-lambda 0.1`: CM at a tenth of the paper's λ, which trained the shapes10-lt budget where λ 1
# diverged, and diverged itself on fashion-mnist-lt; not in the default list). Every method trains with the
# same RECIPE, batch included (the published batch sizes differ: 64 / 48 / 128).
# ω: published where published — DDPM 0.8 and CBDM 1.6 (qym7/CBDM-pytorch README commands), T2H
# 1.5 (MediaBrain-SJTU/OC_LT README: `ddpm_gen.py --w 1.5`); CORAL publishes none (its `omega`
# flag defaults to 0.0, SankarLab/coral-lt-diffusion main.py L78, and no evaluation command is
# given), so CORAL takes its base method's (0.8 on DDPM, 1.6 on CBDM); CM's paper was not read
# for it, so CM takes DDPM's 0.8 — plus EQUAL_OMEGA for every method.
#
# Datasets:
# - shapes10-lt: the demo recipe (tiny UNet, 16 px, batch 32, lr 1e-3, warm-up 100, EMA 0.995)
#   at 2,000 steps (a quarter of the demo's 8k, chosen for cost: ≈ 5 CPU-minutes per one-pass
#   run, 9–10 for the two-pass CBDM and CM, on one thread of a 2-core AMD EPYC); checkpoints every
#   1,000 steps kept, so a later --steps extends the same runs. Evaluation: the demo's sampler
#   (DDIM 25, η = 1, x̂0 clipped), 100 samples per class, sampling seed 1, shapes-classifier
#   features against fresh generator samples.
# - fashion-mnist-lt: the regime study's recipe and evaluation (FASHION_* in study-lib.sh), so
#   --reuse /path/to/regime-study-dir serves DDPM and CBDM from that study read-only: its final
#   checkpoints, and its evaluations where it already has them at the ω asked for. A reused run
#   not yet trained to the end is skipped (the study ends saying how many jobs wait on it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/study-lib.sh

usage() { echo "usage: scripts/compare-study.sh --dataset shapes10-lt|fashion-mnist-lt --out DIR [--workers N] [--seeds 0,1,2] [--methods LIST] [--reuse DIR] [--steps N] [--per-class N] [--omegas LIST]" >&2; exit 2; }
DATASET='' DIR='' WORKERS=1 SEEDS_CSV=0,1,2 METHODS_CSV=ddpm,cbdm,t2h,coral,cbdm-coral,cm REUSE='' STEPS='' PER_CLASS='' OMEGAS_CSV=''
while [ $# -gt 0 ]; do
  case $1 in
    --dataset) DATASET=${2:?}; shift 2 ;;
    --out) DIR=${2:?}; shift 2 ;;
    --workers) WORKERS=${2:?}; shift 2 ;;
    --seeds) SEEDS_CSV=${2:?}; shift 2 ;;
    --methods) METHODS_CSV=${2:?}; shift 2 ;;
    --reuse) REUSE=${2:?}; shift 2 ;;
    --steps) STEPS=${2:?}; shift 2 ;;
    --per-class) PER_CLASS=${2:?}; shift 2 ;;
    --omegas) OMEGAS_CSV=${2:?}; shift 2 ;;
    *) echo "compare-study: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$DIR" ] || usage
IFS=, read -r -a SEEDS <<<"$SEEDS_CSV"
IFS=, read -r -a METHODS <<<"$METHODS_CSV"
IFS=, read -r -a SWEEP <<<"$OMEGAS_CSV"
for w in "${SWEEP[@]}"; do
  [[ $w =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "compare-study: --omegas takes non-negative numbers separated by commas (got '$OMEGAS_CSV')" >&2; exit 2; }
done
for m in "${METHODS[@]}"; do method_flags "$m" >/dev/null || exit 2; done

EQUAL_OMEGA=0.8
case $DATASET in
  shapes10-lt)
    FINAL=2000
    RECIPE=(--dataset shapes10-lt --image-size 16 --preset tiny --steps $FINAL --batch 32 --lr 0.001
      --warmup 100 --ema-decay 0.995 --ckpt-every 1000 --keep-ckpts 0 --log-every 50 --quiet)
    EVAL=(--per-class 100 --sampler-steps 25 --eta 1 --clip clip --seed 1) ;;
  fashion-mnist-lt)
    FINAL=$FASHION_FINAL RECIPE=("${FASHION_RECIPE[@]}") EVAL=("${FASHION_EVAL[@]}") ;;
  *) echo "compare-study: --dataset must be shapes10-lt or fashion-mnist-lt (got '$DATASET')" >&2; usage ;;
esac
# Budget and sample-count overrides: the flag's last occurrence wins in `cbdm train` and demo-study.
if [ -n "$STEPS" ]; then FINAL=$STEPS RECIPE+=(--steps "$STEPS"); fi
[ -z "$PER_CLASS" ] || EVAL+=(--per-class "$PER_CLASS")

published() {
  case $1 in
    ddpm | coral | cm | cm-l0.1) echo 0.8 ;;
    cbdm | cbdm-coral) echo 1.6 ;;
    t2h) echo 1.5 ;;
  esac
}

# DDPM and CBDM runs of another study (read-only): used when --reuse is given.
reused() { [ -n "$REUSE" ] && { [ "${1%-s*}" = ddpm ] || [ "${1%-s*}" = cbdm ]; }; }
run_dir() { if reused "$1"; then echo "$REUSE/$1"; else echo "$DIR/$1"; fi; }

# Seed by seed, method by method, so that whatever has run is a complete row of the tables.
jobs() {
  local s m
  for s in "${SEEDS[@]}"; do
    for m in "${METHODS[@]}"; do
      echo "eval $m-s$s $FINAL $(published "$m")"
      [ "$(published "$m")" = $EQUAL_OMEGA ] || echo "eval $m-s$s $FINAL $EQUAL_OMEGA"
      for w in "${SWEEP[@]}"; do
        [ "$w" = "$(published "$m")" ] || [ "$w" = $EQUAL_OMEGA ] || echo "eval $m-s$s $FINAL $w"
      done
    done
  done
}
result() {
  if reused "$2" && [ -f "$REUSE/eval/$2-$3-w$4/eval.json" ]; then echo "$REUSE/eval/$2-$3-w$4/eval.json"
  else echo "$DIR/eval/$2-$3-w$4/eval.json"; fi
}
lockname() { echo "$2"; }
run_job() {
  # A reused run is never trained here: until its own study has finished it, the job waits.
  if reused "$2" && [ ! -f "$(ckpt "$REUSE/$2" "$3")" ]; then return 76; fi
  eval_ckpt "$2" "$3" "$4"
}

# recorded KEY: the items of protocol.json's list KEY, comma-separated, quotes and spaces dropped.
recorded() {
  [ -f "$DIR/protocol.json" ] || return 0
  sed -n "s/.*\"$1\": \\[\\([^]]*\\)\\].*/\\1/p" "$DIR/protocol.json" | tr -d '" '
}
# union WRAP ITEM...: the items in first-seen order, each once and wrapped in WRAP, comma-separated.
union() {
  local wrap=$1 seen=' ' out=() i
  shift
  for i in "$@"; do
    case $seen in *" $i "*) ;; *) seen+="$i " out+=("$wrap$i$wrap") ;; esac
  done
  (IFS=,; echo "${out[*]}")
}

# The protocol, for scripts/compare-report.ts (rewritten each start; the same for every start of
# one study unless --steps / --per-class change, which then changes the tables' budget too).
# "methods" and "sweepOmegas" are the unions over every start: the ones recorded so far, then this
# start's new ones, so a study extended with another --methods or --omegas (or run by two starts at
# once) keeps all of them.
write_protocol() {
  local m ws=() q='"' known_methods=() known_omegas=()
  for m in ddpm cbdm t2h coral cbdm-coral cm cm-l0.1; do ws+=("$q$m$q: $(published "$m")"); done
  mkdir -p "$DIR"
  IFS=, read -r -a known_methods <<<"$(recorded methods)"
  # Written before "methods" was recorded: all six, as compare-report.ts reads such a file.
  if [ -f "$DIR/protocol.json" ] && ! grep -q '"methods"' "$DIR/protocol.json"; then known_methods=(ddpm cbdm t2h coral cbdm-coral cm); fi
  IFS=, read -r -a known_omegas <<<"$(recorded sweepOmegas)"
  printf '{"dataset": "%s", "steps": %s, "methods": [%s], "equalOmega": %s, "publishedOmega": {%s}, "sweepOmegas": [%s],\n "train": "%s",\n "eval": "%s",\n "reuse": %s}\n' \
    "$DATASET" "$FINAL" "$(union "$q" "${known_methods[@]}" "${METHODS[@]}")" "$EQUAL_OMEGA" "$(IFS=,; echo "${ws[*]}")" \
    "$(union '' "${known_omegas[@]}" "${SWEEP[@]}")" "${RECIPE[*]}" "${EVAL[*]}" \
    "$([ -n "$REUSE" ] && echo "$q$REUSE$q" || echo null)" >"$DIR/protocol.json.$$"
  mv "$DIR/protocol.json.$$" "$DIR/protocol.json"
}

echo "[$(stamp)] compare $DATASET: ${METHODS[*]} × seeds ${SEEDS[*]}, $FINAL steps → $DIR" >&2
write_protocol
run_workers "$WORKERS"
echo "[$(stamp)] done: scripts/compare-report.ts $DIR" >&2
