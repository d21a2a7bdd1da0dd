#!/usr/bin/env bash
# The Fashion-MNIST-LT regime study (docs/RESULTS.md §7): DDPM and CBDM, three seeds each, trained
# to 1,000 epochs of a small long-tailed set, checkpoints evaluated with 200 samples per class.
#
#   scripts/regime-study.sh DIR [WORKERS]      # e.g. scripts/regime-study.sh runs/regime 2
#
# Resumable by design, to run over several days: kill it (or lose the machine) at any point and
# run the same command again (scripts/study-lib.sh: the job list, workers and locks, training
# and evaluation shared with scripts/compare-study.sh).
#
# Data: fashion-mnist-lt --max-per-class 100 --imb 0.05 at 16 px: 100 → 5 per class, 335 images,
# so 1,000 epochs at batch 32 is 10,500 steps. Recipe: the demo's (tiny UNet, lr 1e-3, warm-up
# 100, EMA 0.995, batch 32) for both methods, so the loss is the only difference.
# Evaluation: the `fast` protocol (DDIM 50, η = 1, no x̂0 clipping), 200 samples per class, sampling
# seed 1, against the balanced Fashion-MNIST test split in the evaluator's feature space.
# Job order = what is learned first: (1) every run trained and evaluated at its final checkpoint at
# the published ω (DDPM 0.8, CBDM 1.6); (2) the equal-ω sweep at the final checkpoint (the other
# method's ω first, then 0 and 2.4); (3) earlier checkpoints at the published ω, then at the other
# method's ω (so each early checkpoint has both methods at ω 0.8 and 1.6).
# Between (1) and (2): the downstream check of the paper (its Table 5 protocol on this set): a
# ResNet-32 (`cbdm classify`, 200 epochs) trained on the real set alone, and on it plus each
# seed's final DDPM / CBDM samples at the published ω filling every class up to the head's 100
# (--fill-to head), classifier seed = generator seed; results in DIR/classify/*.json, each
# classifier's checkpoint in DIR/classify/runs/NAME/ (cbdm classify --out; --resume after a kill).
set -euo pipefail
DIR=${1:?usage: scripts/regime-study.sh DIR [WORKERS]}
WORKERS=${2:-1}
cd "$(dirname "$0")/.."
source scripts/study-lib.sh
mkdir -p "$DIR/classify"

SEEDS=(0 1 2)
METHODS=(ddpm cbdm)
FINAL=$FASHION_FINAL
EARLY=(3000 6000)
RECIPE=("${FASHION_RECIPE[@]}")
EVAL=("${FASHION_EVAL[@]}")

published() { [ "$1" = ddpm ] && echo 0.8 || echo 1.6; }
other() { [ "$1" = ddpm ] && echo 1.6 || echo 0.8; }

# The job list: "eval RUN STEP OMEGA" and "classify real|RUN SEED" lines.
jobs() {
  for s in "${SEEDS[@]}"; do for m in "${METHODS[@]}"; do echo "eval $m-s$s $FINAL $(published $m)"; done; done
  for s in "${SEEDS[@]}"; do echo "classify real $s"; for m in "${METHODS[@]}"; do echo "classify $m-s$s $s"; done; done
  for s in "${SEEDS[@]}"; do for m in "${METHODS[@]}"; do echo "eval $m-s$s $FINAL $(other $m)"; done; done
  for w in 0 2.4; do for s in "${SEEDS[@]}"; do for m in "${METHODS[@]}"; do echo "eval $m-s$s $FINAL $w"; done; done; done
  for e in "${EARLY[@]}"; do for s in "${SEEDS[@]}"; do for m in "${METHODS[@]}"; do echo "eval $m-s$s $e $(published $m)"; done; done; done
  for e in "${EARLY[@]}"; do for s in "${SEEDS[@]}"; do for m in "${METHODS[@]}"; do echo "eval $m-s$s $e $(other $m)"; done; done; done
}
# Where a job's result lands (its existence = the job is done) and the lock it holds.
result() {
  case $1 in
    eval) echo "$DIR/eval/$2-$3-w$4/eval.json" ;;
    classify) [ "$2" = real ] && echo "$DIR/classify/real-seed$3.json" || echo "$DIR/classify/$2.json" ;;
  esac
}
lockname() { [ "$1" = eval ] && echo "$2" || echo "classify-$2-$3"; }

classify() {  # $1 real|RUN, $2 classifier seed
  local src=$1 seed=$2 out extra=()
  out=$(result classify "$src" "$seed")
  if [ "$src" != real ]; then
    local m=${src%-s*} samples
    samples="$DIR/eval/$src-$FINAL-w$(published "$m")/samples.npz"
    [ -f "$samples" ] || return 75  # its evaluation has not run yet: come back later
    extra=(--augment-with "$samples" --fill-to head)
  fi
  # The classifier's own folder: checkpoints every epoch, so a killed study continues it exactly.
  local run resume=()
  run="$DIR/classify/runs/$(basename "$out" .json)"
  [ -f "$run/checkpoint.safetensors" ] && resume=(--resume)
  echo "[$(stamp)] classify $src seed $seed${resume:+ (resumed)}" >&2
  CBDM_THREADS=1 node bin/cbdm.mjs classify --dataset fashion-mnist-lt --max-per-class 100 --imb 0.05 \
    --image-size 16 --seed "$seed" "${extra[@]}" --out "$run" "${resume[@]}" --json >"$out.tmp" 2>>"$DIR/logs/classify.log" && mv "$out.tmp" "$out"
}

run_job() {
  case $1 in
    eval) eval_ckpt "$2" "$3" "$4" ;;
    classify) classify "$2" "$3" ;;
  esac
}

run_workers "$WORKERS"
echo "[$(stamp)] study complete: $DIR/eval" >&2
