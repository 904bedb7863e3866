#!/usr/bin/env bash
# The reproductions of issue 22 (fault-injection probe) on a tiny model, one CTest each:
#   reliability_e2e.sh MERINO DATASETS MODE   (DATASETS: the committed datasets/)
# Each mode ends with the newest checkpoint holding the newest weights, or with a refusal that
# changed nothing on disk, or with one clear line and the documented exit code (docs/CLI.md).
#   stale_resume   resuming from an older checkpoint replaces the later step_N it rewrites
#   corrupt_newest a corrupt newest checkpoint is skipped, then replaced by the rerun's
#   all_corrupt    every checkpoint corrupt: the new ones survive pruning, `latest` resolves
#   no_latest      checkpoints without `latest` still refuse a fresh run; nothing changes
#   lock           a second trainer on the run.dir exits 2 at once naming the holder; the
#                  first finishes and its metrics and checkpoints agree
#   vocab          a token >= vocab_size: exit 2 naming the shard and offset before step 1
#   nan            lr 10, weight decay 10: stops with the NaN message, no non-finite checkpoint
#   fifo           a FIFO named like a shard: one line, exit 2, no hang
#   not_a_file     a directory as config / state.json: one line naming it; --resume auto skips
#   bad_state      state.json step -5 / 1.5: refused naming the field
#   memory         micro_batch 65536 under ulimit -v: one line with the sizes, exit 1
#   small_address_space  ulimit -v 600000: a run or one line with the sizes
set -euo pipefail
merino=$1 datasets=$2 mode=$3
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

GRAD_ACCUM=1 MAX_STEPS=10 CKPT_EVERY=5
# shellcheck source=e2e_common.sh
source "$(dirname "$0")/e2e_common.sh"
train() { "$merino" train "$work/cfg.yaml" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE PATTERN -- COMMAND...: exit CODE, exactly one stderr line, matching PATTERN
expect() { bash "$(dirname "$0")/../cli/expect_error.sh" "$@"; }
step_of() { python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['step'])" "$1/state.json"; }
resumes_at() {  # RUN STEP: --resume auto finds a valid checkpoint of STEP, warning about nothing
  local out
  out=$(train --set run.dir="$1" --set train.max_steps="$2" --resume auto 2>&1 >/dev/null; \
        train --set run.dir="$1" --set train.max_steps="$2" --resume auto 2>/dev/null | grep "resumed from")
  echo "$out"
  grep -q "warning" <<<"$out" && fail "a checkpoint was skipped: $out"
  grep -q "resumed from $1/step_$(printf %08d "$2") at step $2" <<<"$out" || fail "not resumed at step $2"
}
# every float in every checkpoint of RUN is finite
all_finite() {
  python3 - "$1" <<'PY'
import glob, json, math, struct, sys
files = glob.glob(sys.argv[1] + "/step_*/*.safetensors")
for path in files:
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    values = struct.unpack(f"<{(len(data) - 8 - n) // 4}f", data[8 + n:])
    bad = sum(not math.isfinite(v) for v in values)
    assert bad == 0, f"{path}: {bad} non-finite values"
print(len(files), "checkpoint files, every value finite")
PY
}

train --set run.dir="$work/r" >/dev/null  # steps 1-10, checkpoints 5 and 10

case "$mode" in
stale_resume)
  cp -a "$work/r" "$work/d1"
  old=$(sha256sum <"$work/d1/step_00000010/model.safetensors")
  train --set run.dir="$work/d1" --resume "$work/d1/step_00000005" --set optimizer.lr=1e-3 >/dev/null
  [ "$old" != "$(sha256sum <"$work/d1/step_00000010/model.safetensors")" ] || fail "step_10 still holds the old run"
  grep -Eq "lr: (1e-3|0\.001|1\.0e-0?3)" "$work/d1/step_00000010/config.yaml" || fail "step_10's config is not the new run's"
  ls -a "$work/d1" | grep -E '^\.(tmp|old)-' && fail "scratch directories left behind"
  resumes_at "$work/d1" 10
  ;;
corrupt_newest)
  printf 'X' | dd of="$work/r/step_00000010/model.safetensors" bs=1 seek=5000 conv=notrunc 2>/dev/null
  train --set run.dir="$work/r" --resume auto 2>"$work/err" | grep "resumed from"
  grep -q "skipping checkpoint $work/r/step_00000010" "$work/err" || fail "the corrupt checkpoint was not skipped"
  resumes_at "$work/r" 10
  ;;
all_corrupt)
  for s in 5 10; do echo '{garbled' >"$work/r/step_$(printf %08d $s)/state.json"; done
  train --set run.dir="$work/r" --resume auto --set train.max_steps=6 --set checkpoint.every=5 >/dev/null 2>&1
  [ "$(readlink "$work/r/latest")" = step_00000006 ] || fail "latest is $(readlink "$work/r/latest")"
  [ -d "$work/r/step_00000005" ] && [ -d "$work/r/step_00000006" ] || fail "new checkpoints were pruned"
  [ -e "$work/r/step_00000010" ] && fail "a corrupt checkpoint of a later step outlived the new run"
  resumes_at "$work/r" 6
  ;;
no_latest)
  rm "$work/r/latest"
  # every file but the lock, which records its latest holder
  files() { (cd "$work/r" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum); }
  before=$(files)
  expect 2 "already holds checkpoints; pass --resume auto" -- "$merino" train "$work/cfg.yaml" --set run.dir="$work/r"
  [ "$before" = "$(files)" ] || fail "files changed"
  ;;
lock)
  "$merino" train "$work/cfg.yaml" --set run.dir="$work/l" --set train.max_steps=60 >"$work/first.log" 2>&1 & pid=$!
  wait_for "$work/l/metrics.jsonl"
  start=$(date +%s%N)
  expect 2 "$work/l: in use by another merino train \(pid $pid on host $(hostname)" -- \
    "$merino" train "$work/cfg.yaml" --set run.dir="$work/l" --resume auto
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "refused in $ms ms"
  [ "$ms" -lt 1000 ] || fail "the refusal took $ms ms"
  wait "$pid" || fail "the first trainer failed: $(tail -3 "$work/first.log")"
  python3 - "$work/l" <<'PY'
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1] + "/metrics.jsonl") if "loss" in json.loads(l)]
assert steps == list(range(1, 61)), steps
assert json.load(open(sys.argv[1] + "/latest/state.json"))["step"] == 60
print("metrics.jsonl and the checkpoints agree: 60 steps")
PY
  ;;
vocab)
  # the GPT-2 ids of the prepared text reach far beyond a 1000-token vocabulary
  expect 2 "$work/data/train_[0-9]+\.bin: token [0-9]+ at token offset [0-9]+ \(byte [0-9]+\) is outside the model's vocabulary \(vocab_size 1000\)" -- \
    "$merino" train "$work/cfg.yaml" --set run.dir="$work/v" --set model.vocab_size=1000
  [ -e "$work/v/metrics.jsonl" ] && fail "training started"
  ;;
nan)
  if train --set run.dir="$work/n" --set optimizer.lr=10 --set optimizer.weight_decay=10 \
       --set schedule.kind=constant --set checkpoint.every=1 --set train.max_steps=40 >/dev/null 2>"$work/err"; then
    fail "the diverging run exited 0"
  fi
  cat "$work/err"
  grep -Eq "step [0-9]+: (loss|gradient norm) is (nan|inf); stopped without updating the weights|non-finite values; stopped without writing a checkpoint" "$work/err" || fail "no NaN message"
  all_finite "$work/n"
  ;;
fifo)
  mkfifo "$work/data/train_999999.bin"
  expect 2 "$work/data/train_999999.bin: not a regular file" -- \
    timeout 20 "$merino" train "$work/cfg.yaml" --set run.dir="$work/f"
  ;;
not_a_file)
  mkdir "$work/dir.yaml"
  expect 2 "$work/dir.yaml: not a regular file" -- "$merino" train "$work/dir.yaml"
  expect 2 "$work/dir.yaml: not a regular file" -- "$merino" train "$work/cfg.yaml" --set model="$work/dir.yaml"
  rm "$work/r/step_00000010/state.json" && mkdir "$work/r/step_00000010/state.json"
  train --set run.dir="$work/r" --resume auto 2>"$work/err" | grep "resumed from $work/r/step_00000005"
  grep "step_00000010/state.json: not a regular file" "$work/err"
  ;;
bad_state)
  for bad in -5 1.5; do
    python3 - "$work/r/step_00000010/state.json" "$bad" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["step"] = json.loads(sys.argv[2]); json.dump(s, open(sys.argv[1], "w"))
PY
    expect 2 "step_00000010/state.json: \`step\` is $bad, not a non-negative integer" -- \
      "$merino" train "$work/cfg.yaml" --set run.dir="$work/r" --resume "$work/r/step_00000010"
  done
  ;;
memory)
  expect 1 "cpu: the run needs [0-9.]+ [MG]iB of memory \(parameters [0-9.]+ MiB.*activations [0-9.]+ [MG]iB.*; reduce batch.micro_batch" -- \
    bash -c "ulimit -v 2000000; exec \"$merino\" train \"$work/cfg.yaml\" --set run.dir=\"$work/m\" --set batch.micro_batch=65536"
  ;;
small_address_space)
  # the issue's `ulimit -v 600000` on the CPU: a run, or one line with the sizes; never a hang
  # or a loader error
  set +e
  err=$(ulimit -v 600000; timeout 120 "$merino" train "$work/cfg.yaml" --set run.dir="$work/u" 2>&1 >/dev/null)
  code=$?
  set -e
  echo "exit $code: $err"
  if [ "$code" -ne 0 ]; then
    [ "$code" -eq 1 ] && [ "$(grep -c . <<<"$err")" -eq 1 ] && grep -Eq "cannot allocate .*MiB|the run needs .*MiB" <<<"$err" ||
      fail "neither a run nor one line with sizes"
  fi
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "ok: $mode"
