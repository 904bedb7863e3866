#!/usr/bin/env bash
# End-to-end trainer checks on a tiny model, run by CTest:
#   train_e2e.sh MERINO SHARED_DATA resume   2N steps straight == N steps, kill -9, resume, rest:
#                                            per-step losses and final weights bit-identical
#   train_e2e.sh MERINO SHARED_DATA sigterm  SIGTERM -> checkpoint of the last step, exit 0
#   train_e2e.sh MERINO SHARED_DATA fresh    a fresh run refuses a run.dir holding checkpoints
#   train_e2e.sh MERINO SHARED_DATA quickstart  README's PTB run, shortened to 200 steps,
#                                            reaches validation loss < 6.0
set -euo pipefail
merino=$1 shared=$2 mode=$3
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

GRAD_ACCUM=2 MAX_STEPS=40 CKPT_EVERY=5
# shellcheck source=e2e_common.sh
source "$(dirname "$0")/e2e_common.sh"
train() { "$merino" train "$work/cfg.yaml" "$@"; }

case "$mode" in
resume)
  train --set run.dir="$work/a" >/dev/null
  # the binary itself in the background (not a shell function), so kill -9 hits the trainer
  "$merino" train "$work/cfg.yaml" --set run.dir="$work/b" >/dev/null & pid=$!
  wait_for "$work/b/step_00000020/state.json"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  echo "killed after $(ls "$work/b" | grep -c ^step_) checkpoints; resuming"
  train --set run.dir="$work/b" --resume auto | grep -E "resumed from"
  for f in model.safetensors optimizer.safetensors; do
    cmp "$work/a/step_00000040/$f" "$work/b/step_00000040/$f"
  done
  python3 - "$work/a/metrics.jsonl" "$work/b/metrics.jsonl" <<'PY'
import json, sys
def losses(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            assert r["step"] not in out, f"{path}: step {r['step']} logged twice"
            out[r["step"]] = r["loss"]
    return out
a, b = losses(sys.argv[1]), losses(sys.argv[2])
assert sorted(a) == list(range(1, 41)), sorted(a)
assert a == b, [(s, a[s], b.get(s)) for s in a if a[s] != b.get(s)]
print("per-step losses identical for", len(a), "steps")
PY
  ;;
sigterm)
  "$merino" train "$work/cfg.yaml" --set run.dir="$work/s" --set train.max_steps=100000 \
    --set checkpoint.every=0 >"$work/log" & pid=$!
  wait_for "$work/s/metrics.jsonl"
  sleep 1
  kill -TERM "$pid"
  wait "$pid"  # must exit 0
  grep -E "signal 15: stopped after step" "$work/log"
  step=$(python3 -c "import json;print(json.load(open('$work/s/latest/state.json'))['step'])")
  last=$(python3 -c "import json;print(max(json.loads(l)['step'] for l in open('$work/s/metrics.jsonl')))")
  echo "checkpoint step $step, last logged step $last"
  [ "$step" = "$last" ]
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
quickstart)
  repo=$(cd "$(dirname "$0")/../.." && pwd)
  "$merino" prepare --input "$shared/ptb/ptb.valid.txt" --input "$shared/ptb/ptb.train.txt" \
    --val-tokens 92831 --out "$work/ptb" --tokenizer gpt2 >/dev/null
  "$merino" train "$repo/configs/tiny.yaml" --set data.dir="$work/ptb" --set run.dir="$work/q" \
    --set train.max_steps=200 --set train.val_every=200 >/dev/null
  python3 - "$work/q/metrics.jsonl" <<'PY'
import json, sys
val = [json.loads(l)["val_loss"] for l in open(sys.argv[1]) if "val_loss" in l]
print("validation loss after 200 steps:", val[-1])
assert val[-1] < 6.0, val
PY
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "ok: $mode"
