#!/usr/bin/env bash
# Data-parallel training under mpirun on the CPU backend, run by CTest (exit 77 = skipped when
# there is no mpirun; CTest passes none when this merino was built without MPI):
#   equivalence  2 ranks x grad_accum 1 == 1 process x grad_accum 2 (same global batch):
#                per-step losses within 1e-5 relative; bucketed overlapped all-reduce (tiny
#                buckets) == one blocking all-reduce, bit for bit
#   zero         ZeRO-1 == plain data parallel, losses within 1e-5 relative, same checkpoint
#   zero_bf16    `zero` in mixed precision: ZeRO-1 rounds the bf16 working copy after the
#                all-gather, plain DP inside AdamW, with the same random stream
#   resume       2 ranks: N steps straight == killed after a checkpoint and resumed, bit for bit;
#                a ZeRO-1 checkpoint resumes on 1 process (re-sharded) and tracks the 2-rank run
#   killed       one rank killed -9: the job ends non-zero within 60 s with the launcher's
#                error, and the last checkpoint is intact and resumable
#   stop         SIGUSR1 to mpirun: every rank stops after the same step, rank 0 checkpoints
#                it, the job exits 0
set -euo pipefail
merino=$1 datasets=$2 mode=$3 mpirun=${4:-}
precision=fp32
if [ "$mode" = zero_bf16 ]; then mode=zero precision=bf16; fi
if [ -z "$mpirun" ] || ! command -v "$mpirun" >/dev/null; then
  echo "SKIPPED: no mpirun (install openmpi-bin libopenmpi-dev and reconfigure)"; exit 77
fi
launch=("$mpirun" --oversubscribe)
[ "$(id -u)" = 0 ] && launch+=(--allow-run-as-root)
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

GRAD_ACCUM=1 MAX_STEPS=30 CKPT_EVERY=10
# shellcheck source=e2e_common.sh
source "$(dirname "$0")/e2e_common.sh"
one() { "$merino" train "$work/cfg.yaml" --set run.precision=$precision "$@"; }
two() { "${launch[@]}" -np 2 "$merino" train "$work/cfg.yaml" --set run.precision=$precision "$@"; }


descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }

case "$mode" in
equivalence)
  one --set run.dir="$work/one" --set batch.grad_accum=2 >/dev/null
  two --set run.dir="$work/two" | grep -E "data parallel: 2 ranks over MPI"
  compare_losses "$work/one/metrics.jsonl" "$work/two/metrics.jsonl" 1e-5
  two --set run.dir="$work/blocking" --set distributed.overlap=false >/dev/null
  two --set run.dir="$work/buckets" --set distributed.bucket_mb=0.004 >/dev/null
  compare_losses "$work/blocking/metrics.jsonl" "$work/buckets/metrics.jsonl" 0
  cmp "$work/blocking/latest/model.safetensors" "$work/buckets/latest/model.safetensors"
  ;;
zero)
  two --set run.dir="$work/dp" >/dev/null
  two --set run.dir="$work/z" --set distributed.zero1=true | grep -E "ZeRO-1 optimizer sharding"
  compare_losses "$work/dp/metrics.jsonl" "$work/z/metrics.jsonl" 1e-5
  # rank 0 gathers the shards: the checkpoint has the same layout and values as plain DP's
  python3 - "$work/dp/latest" "$work/z/latest" <<'PY'
import json, struct, sys
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n]); head.pop("__metadata__", None)
    return {k: raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]] for k, v in head.items()}
for f in ("model.safetensors", "optimizer.safetensors"):
    a, b = tensors(f"{sys.argv[1]}/{f}"), tensors(f"{sys.argv[2]}/{f}")
    assert a.keys() == b.keys(), f
    worst = 0.0
    for k in a:
        x = struct.unpack(f"<{len(a[k]) // 4}f", a[k]); y = struct.unpack(f"<{len(b[k]) // 4}f", b[k])
        worst = max([worst] + [abs(p - q) / max(abs(p), 1e-6) for p, q in zip(x, y)])
    print(f"{f}: {len(a)} tensors, largest relative difference {worst:.3g}")
    assert worst < 1e-3, f
PY
  ;;
resume)
  # kill -9 the whole job (mpirun and its ranks) once the step-20 checkpoint exists, then drop
  # anything written after it, as if the kill had come right then (steps take milliseconds)
  killed_after_20() {  # RUN_DIR [--set ...]
    local dir=$1; shift
    "${launch[@]}" -np 2 "$merino" train "$work/cfg.yaml" --set run.dir="$dir" "$@" >/dev/null & pid=$!
    wait_for "$dir/step_00000020/state.json"
    local procs=("$pid" $(descendants "$pid"))
    kill -9 "${procs[@]}" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    # a killed rank exits a moment after its signal and holds the run.dir lock until then
    for _ in $(seq 100); do flock -n "$dir/.lock" true && break; sleep 0.1; done
    rm -rf "$dir/step_00000030"; ln -sfn step_00000020 "$dir/latest"
  }
  two --set run.dir="$work/a" >/dev/null
  killed_after_20 "$work/b"
  two --set run.dir="$work/b" --resume auto | grep -E "resumed from .*step_00000020"
  compare_losses "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" 0
  for f in model.safetensors optimizer.safetensors; do cmp "$work/a/latest/$f" "$work/b/latest/$f"; done
  # ZeRO-1 on 2 ranks, resumed on 1 process (re-sharded) with the same global batch
  killed_after_20 "$work/z" --set distributed.zero1=true
  one --set run.dir="$work/z" --set distributed.zero1=true --set batch.grad_accum=2 --resume auto \
    | grep -E "resumed from .*step_00000020"
  compare_losses "$work/a/metrics.jsonl" "$work/z/metrics.jsonl" 1e-5
  ;;
killed)
  "${launch[@]}" -np 2 "$merino" train "$work/cfg.yaml" --set run.dir="$work/k" \
    --set train.max_steps=100000 --set checkpoint.every=5 >"$work/log" 2>&1 & pid=$!
  wait_for "$work/k/step_00000010/state.json"
  victim=""
  for p in $(pgrep -P "$pid"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
  done
  [ -n "$victim" ] || { echo "rank 1 not found among the children of mpirun"; exit 1; }
  kill -9 "$victim"
  start=$(date +%s)
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "the job still runs 60 s after rank 1 was killed"; exit 1; fi
  if wait "$pid"; then echo "the job exited 0 after a rank was killed"; exit 1; fi
  echo "job ended $(( $(date +%s) - start )) s after rank 1 was killed:"
  grep -iE "rank 1.*(signal 9|killed)|(signal 9|killed).*rank 1" "$work/log" | head -n 2
  # whatever step it reached, `latest` is a complete checkpoint that resumes
  latest=$(readlink "$work/k/latest")
  two --set run.dir="$work/k" --set train.max_steps=$(( ${latest#step_} + 1 )) --resume auto \
    | grep -E "resumed from .*$latest"
  ;;
stop)
  "${launch[@]}" -np 2 "$merino" train "$work/cfg.yaml" --set run.dir="$work/s" \
    --set train.max_steps=100000 --set checkpoint.every=0 >"$work/log" 2>&1 & pid=$!
  wait_for "$work/s/metrics.jsonl"
  sleep 1
  kill -USR1 "$pid"
  wait "$pid" || { cat "$work/log"; echo "mpirun exited non-zero after SIGUSR1"; exit 1; }
  grep -E "signal 10: stopped after step" "$work/log"
  stopped_at_checkpoint "$work/s"
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "ok: $mode"
