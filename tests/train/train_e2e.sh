#!/usr/bin/env bash
# End-to-end trainer checks on a tiny model, run by CTest:
#   train_e2e.sh MERINO DATASETS resume   2N steps straight == N steps, kill -9, resume, rest:
#                                            per-step losses and final weights bit-identical
#   train_e2e.sh MERINO DATASETS sigterm  SIGTERM -> checkpoint of the last step, exit 0
#   train_e2e.sh MERINO DATASETS fresh    a fresh run refuses a run.dir holding checkpoints
#   train_e2e.sh MERINO DATASETS resume_bf16  `resume` in mixed precision (run.precision=bf16)
#   train_e2e.sh MERINO DATASETS bf16_tracks_fp32  README's PTB run shortened to 100 steps,
#                                            in fp32 and in bf16: fp32 reaches validation loss
#                                            < 6.0, and every logged bf16 loss is within 2%
#   train_e2e.sh MERINO DATASETS cuda_bf16_tracks_cpu  the same on the GPU: CUDA bf16 vs CPU
#                                            fp32 within 2%, and two CUDA runs with identical
#                                            losses (exit 77, skipped, without a usable GPU)
set -euo pipefail
merino=$1 datasets=$2 mode=$3
precision=fp32
if [ "$mode" = resume_bf16 ]; then mode=resume precision=bf16; fi
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

GRAD_ACCUM=2 MAX_STEPS=40 CKPT_EVERY=5
# shellcheck source=e2e_common.sh
source "$(dirname "$0")/e2e_common.sh"
train() { "$merino" train "$work/cfg.yaml" --set run.precision=$precision "$@"; }

case "$mode" in
resume)
  train --set run.dir="$work/a" >/dev/null
  # the binary itself in the background (not a shell function), so kill -9 hits the trainer
  "$merino" train "$work/cfg.yaml" --set run.precision=$precision --set run.dir="$work/b" >/dev/null & pid=$!
  wait_for "$work/b/step_00000020/state.json"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  echo "killed after $(ls "$work/b" | grep -c ^step_) checkpoints; resuming"
  train --set run.dir="$work/b" --resume auto | grep -E "resumed from"
  for f in model.safetensors optimizer.safetensors; do
    cmp "$work/a/step_00000040/$f" "$work/b/step_00000040/$f"
  done
  compare_losses "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" 0 40
  ;;
sigterm)
  "$merino" train "$work/cfg.yaml" --set run.dir="$work/s" --set train.max_steps=100000 \
    --set checkpoint.every=0 >"$work/log" & pid=$!
  wait_for "$work/s/metrics.jsonl"
  sleep 1
  kill -TERM "$pid"
  wait "$pid"  # must exit 0
  grep -E "signal 15: stopped after step" "$work/log"
  stopped_at_checkpoint "$work/s"
  ;;
fresh)
  train --set run.dir="$work/f" --set train.max_steps=2 --set schedule.warmup_steps=0 >/dev/null
  before=$(sha256sum "$work/f/latest/model.safetensors")
  if train --set run.dir="$work/f" --set train.max_steps=2 --set schedule.warmup_steps=0 2>"$work/err"; then
    echo "a fresh run over existing checkpoints should fail"; exit 1
  fi
  grep -E "already holds checkpoints; pass --resume auto" "$work/err"
  [ "$before" = "$(sha256sum "$work/f/latest/model.safetensors")" ]
  ;;
bf16_tracks_fp32 | cuda_bf16_tracks_cpu)
  repo=$(cd "$(dirname "$0")/../.." && pwd)
  "$merino" prepare --input "$datasets/ptb/ptb.valid.txt" --input "$datasets/ptb/ptb.train.txt" \
    --val-tokens 92831 --out "$work/ptb" --tokenizer gpt2 >/dev/null
  run() {  # NAME DEVICE PRECISION
    "$merino" train "$repo/configs/tiny.yaml" --set data.dir="$work/ptb" --set run.dir="$work/$1" \
      --set run.device="$2" --set run.precision="$3" --set train.max_steps=100 \
      --set train.val_batches=4 --set train.log_every=10 --set checkpoint.every=0
  }
  runs=(fp32:cpu:fp32 bf16:cpu:bf16)
  if [ "$mode" = cuda_bf16_tracks_cpu ]; then
    if ! "$merino" train "$repo/configs/tiny.yaml" --set data.dir="$work/ptb" --set run.dir="$work/probe" \
        --set run.device=cuda --set train.max_steps=1 >"$work/probe.log" 2>&1; then
      if grep -qE "CUDA backend: |built without CUDA" "$work/probe.log"; then
        echo "SKIPPED: $(grep -m1 -E "CUDA backend: |built without CUDA" "$work/probe.log")"; exit 77
      fi
      cat "$work/probe.log"; exit 1
    fi
    runs=(fp32:cpu:fp32 bf16:cuda:bf16 bf16_again:cuda:bf16)
  fi
  for r in "${runs[@]}"; do
    IFS=: read -r name device precision <<<"$r"
    run "$name" "$device" "$precision" >"$work/$name.log"
    grep -E "precision|validation loss|memory" "$work/$name.log"
    # every buffer and workspace of a training step comes from the block reserved at start
    if grep -q "outside the reserved block" "$work/$name.log"; then
      echo "FAIL: $name: the memory plan missed buffers"; exit 1
    fi
  done
  python3 - "$work" "${#runs[@]}" <<'PY'
import json, sys
def curve(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        for k in ("loss", "val_loss"):
            if k in r: out[(k, r["step"])] = r[k]
    return out
work, n = sys.argv[1], int(sys.argv[2])
a, b = curve(f"{work}/fp32/metrics.jsonl"), curve(f"{work}/bf16/metrics.jsonl")
assert a.keys() == b.keys() and len(a) >= 11, (sorted(a), sorted(b))
worst = max(abs(b[k] - a[k]) / a[k] for k in a)
print(f"{len(a)} logged losses; largest bf16 vs fp32 relative difference {worst:.4f}")
assert worst < 0.02, [(k, a[k], b[k]) for k in sorted(a)]
# the quick start's promise (README, configs/tiny.yaml): past 6.0 early on PTB
print("fp32 validation loss after 100 steps:", a[("val_loss", 100)])
assert a[("val_loss", 100)] < 6.0, a[("val_loss", 100)]
if n == 3:
    c = curve(f"{work}/bf16_again/metrics.jsonl")
    assert c == b, [(k, b[k], c.get(k)) for k in sorted(b) if b[k] != c.get(k)]
    print("two CUDA bf16 runs: identical losses")
PY
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "ok: $mode"
