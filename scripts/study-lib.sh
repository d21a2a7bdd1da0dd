# Shared machinery of the resumable studies (sourced by scripts/regime-study.sh and
# scripts/compare-study.sh; not run on its own).
#
# A study is a job list. A job is done when its result file exists (written atomically by the
# tool that makes it), so killing a study at any point and running the same command again resumes
# it: training resumes from the run's latest checkpoint (`cbdm train --resume`, exact) and a
# finished evaluation is not redone. WORKERS processes walk one job list; a job holds a flock
# named by the study, so two workers never touch the same run, and a lock dies with its process.
#
# The sourcing script sets DIR (the study directory), FINAL (steps), RECIPE and EVAL (arrays of
# flags; RECIPE without --seed and the method), and
# defines jobs (prints one job a line: KIND A B C), result KIND A B C (the file whose existence
# means the job is done), lockname KIND A B C and run_job KIND A B C. A job may exit 75: "busy or
# not ready, come back on the next pass", or 76: "waits on something outside this study (a run
# of another study it reuses); skip it this time" — the study then ends with the others done.

# The fashion-mnist-lt recipe of the regime study (docs/RESULTS.md §7), also the comparison's on
# that dataset so that the regime study's DDPM and CBDM runs serve both: 100 → 5 per class at
# imb 0.05 (335 images), 16 px, tiny UNet, batch 32, 10,500 steps = 1,000 epochs; evaluation with
# the `fast` protocol (DDIM 50, η = 1, no x̂0 clipping), 200 samples per class, sampling seed 1.
FASHION_FINAL=10500
FASHION_RECIPE=(--dataset fashion-mnist-lt --max-per-class 100 --imb 0.05 --image-size 16 --preset tiny
  --steps $FASHION_FINAL --batch 32 --lr 0.001 --warmup 100 --ema-decay 0.995 --ckpt-every 1500
  --keep-ckpts 0 --log-every 50 --quiet)
FASHION_EVAL=(--per-class 200 --sampler-steps 50 --eta 1 --clip none --seed 1)

ckpt() { printf '%s/checkpoints/step-%08d.safetensors' "$1" "$2"; }
stamp() { date -u +%H:%M:%S; }

# The `cbdm train` flags of a method name as runs are named (METHOD-sSEED).
method_flags() {
  case $1 in
    ddpm | cbdm | t2h | cm) echo "--method $1" ;;
    coral) echo "--method ddpm --coral" ;;
    cbdm-coral) echo "--method cbdm --coral" ;;
    # CM at a tenth of the paper's λ: at λ 1 it diverged before 2,000 shapes10-lt steps (docs/RESULTS.md §8).
    cm-l0.1) echo "--method cm --cm-lambda 0.1" ;;
    *) echo "unknown method '$1' (ddpm, cbdm, t2h, coral, cbdm-coral, cm, cm-l0.1)" >&2; return 2 ;;
  esac
}

# Where run $1 lives. A study that reuses another's runs overrides this (compare-study.sh).
run_dir() { echo "$DIR/$1"; }

# train_run RUN: trains the run named METHOD-sSEED with RECIPE to FINAL steps unless that
# checkpoint exists; a run with a checkpoint resumes exactly (and is extended when FINAL is more
# than it was started with).
train_run() {
  local run=$1 m=${1%-s*} s=${1##*-s} out flags
  out=$(run_dir "$run")
  [ -f "$(ckpt "$out" "$FINAL")" ] && return 0
  flags=$(method_flags "$m") || return 2
  if [ -f "$out/checkpoints/latest.json" ]; then
    echo "[$(stamp)] resume $run" >&2
    CBDM_THREADS=1 node bin/cbdm.mjs train --resume --steps "$FINAL" --out "$out" --quiet >>"$DIR/logs/$run.log" 2>&1
  else
    rm -rf "$out"  # started but no checkpoint yet: nothing to keep
    echo "[$(stamp)] train $run" >&2
    # shellcheck disable=SC2086  # flags: words of method_flags
    CBDM_THREADS=1 node bin/cbdm.mjs train $flags --seed "$s" "${RECIPE[@]}" --out "$out" >>"$DIR/logs/$run.log" 2>&1
  fi
}

# eval_ckpt RUN STEP OMEGA: the EVAL protocol on the EMA weights of RUN's checkpoint STEP at
# guidance ω, into DIR/eval/RUN-STEP-wOMEGA/ (eval.json, samples).
eval_ckpt() {
  local run=$1 step=$2 w=$3
  [ -f "$(result eval "$run" "$step" "$w")" ] && return 0
  train_run "$run" || return $?
  echo "[$(stamp)] eval $run step $step ω $w" >&2
  CBDM_THREADS=1 node --import tsx scripts/demo-study.ts --out "$DIR/eval" "${EVAL[@]}" --steps "$step" \
    --omega "$w" --tag="-w$w" --compact "$(run_dir "$run")" >>"$DIR/logs/eval-$run.log" 2>&1
}

# One worker: passes over the job list until every job is done or waits outside the study.
worker() {
  local pending=1 waiting rc
  while [ $pending = 1 ]; do
    pending=0 waiting=0
    while read -r kind a b c; do
      [ -f "$(result "$kind" "$a" "$b" "$c")" ] && continue
      # One process per run at a time; skip a busy run (exit 75) and come back on the next pass.
      rc=0
      ( flock -n 9 || exit 75; run_job "$kind" "$a" "$b" "$c" </dev/null ) 9>"$DIR/locks/$(lockname "$kind" "$a" "$b").lock" || rc=$?
      case $rc in
        0) ;;
        75) pending=1 ;;
        76) waiting=$((waiting + 1)) ;;
        *) echo "job '$kind $a $b $c' failed (exit $rc); see $DIR/logs/" >&2; exit $rc ;;
      esac
    done < <(jobs)
    [ $pending = 1 ] && sleep 20
  done
  [ $waiting = 0 ] || echo "[$(stamp)] $waiting job(s) wait on runs outside $DIR; run the same command again later" >&2
}

# run_workers N: N workers on the job list, started 2 s apart; fails when a worker failed.
run_workers() {
  local i pids=() failed=0
  mkdir -p "$DIR/locks" "$DIR/eval" "$DIR/logs"
  for ((i = 1; i <= $1; i++)); do worker & pids+=($!); sleep 2; done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  return $failed
}
