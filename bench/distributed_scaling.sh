#!/usr/bin/env bash
# Data-parallel step time on the CPU/MPI path, all runs in one invocation so the ratios compare
# like with like on this machine:
#   compute only   two independent single-process runs side by side (each with half the global
#                  batch, no communication): the step time data parallelism cannot beat here
#   dp overlap     mpirun -np 2, gradient buckets all-reduced during the backward pass
#   dp blocking    mpirun -np 2, one all-reduce after the backward pass
#   zero1          mpirun -np 2, ZeRO-1 (reduce-scatter, sharded AdamW, all-gather)
#   one process    the whole global batch on one process (grad_accum 2)
# Prints the mean step time after 5 warm-up steps and its ratio to "compute only": the excess
# over 1.000x is what communication costs (docs/DISTRIBUTED.md).
#
# Usage: bench/distributed_scaling.sh [CONFIG] [DATA_DIR]     (env: MERINO, STEPS, MPIRUN)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cfg=${1:-$root/configs/tiny.yaml}
data=${2:-$root/data/ptb}
merino=${MERINO:-$root/build/merino}
steps=${STEPS:-25}
mpirun=${MPIRUN:-mpirun}
launch=("$mpirun" --oversubscribe)
[ "$(id -u)" = 0 ] && launch+=(--allow-run-as-root)
[ -d "$data" ] || { echo "no data in $data: run merino prepare first (README)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
common=(--set data.dir="$data" --set train.max_steps="$steps" --set train.log_every=1
        --set train.val_batches=1 --set checkpoint.every=0 --set schedule.warmup_steps=0)
accum=$("$merino" train "$cfg" --set train.max_steps=1 --set run.dir="$work/probe" --set data.dir="$data" \
        --set schedule.warmup_steps=0 | sed -n 's/^ *grad_accum: *//p' | head -n 1)

step_ms() {  # mean step time (ms) of a run's metrics, skipping the first 5 steps
  python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"elapsed_s"' in l]
rows = [r for r in rows if r["step"] > 5]
print(f"{1000 * (rows[-1]['elapsed_s'] - rows[0]['elapsed_s']) / (rows[-1]['step'] - rows[0]['step']):.1f}")
PY
}

"$merino" train "$cfg" "${common[@]}" --set run.dir="$work/solo_a" >/dev/null &
"$merino" train "$cfg" "${common[@]}" --set run.dir="$work/solo_b" >/dev/null &
wait
"${launch[@]}" -np 2 "$merino" train "$cfg" "${common[@]}" --set run.dir="$work/overlap" >/dev/null
"${launch[@]}" -np 2 "$merino" train "$cfg" "${common[@]}" --set run.dir="$work/blocking" \
  --set distributed.overlap=false >/dev/null
"${launch[@]}" -np 2 "$merino" train "$cfg" "${common[@]}" --set run.dir="$work/zero1" \
  --set distributed.zero1=true >/dev/null
"$merino" train "$cfg" "${common[@]}" --set run.dir="$work/one" --set batch.grad_accum=$((2 * accum)) >/dev/null

solo=$(python3 -c "print(f'{($(step_ms "$work/solo_a/metrics.jsonl") + $(step_ms "$work/solo_b/metrics.jsonl")) / 2:.1f}')")
printf '%-34s %10s %10s\n' "run ($(basename "$cfg"), 2 ranks)" "step ms" "vs compute"
for run in overlap blocking zero1 one; do
  ms=$(step_ms "$work/$run/metrics.jsonl")
  printf '%-34s %10s %10s\n' "$run" "$ms" "$(python3 -c "print(f'{$ms / $solo:.3f}x')")"
done
printf '%-34s %10s %10s\n' "compute only (2 independent runs)" "$solo" "1.000x"
