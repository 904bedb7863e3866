#!/usr/bin/env bash
# Replays the fault-injection probe of issue 22 against a merino binary, on the tiny e2e model:
#   scripts/fault-probe.sh [MERINO] [SHARED_DATA] [KILLS]
#     kill -9   KILLS trainers killed at spread-out moments (many inside a checkpoint write,
#               as one is written every step), each resumed with --resume auto: the final
#               weights must equal an uninterrupted run's, bit for bit
#     disk full run.dir on a small tmpfs (skipped where mounting is not permitted): exit 1
#               naming the path and "No space left on device"; every checkpoint left verifies
#     concurrent a second trainer on a busy run.dir: exit 2 within a second naming the holder;
#               the first finishes, its metrics and checkpoints agree
# and prints one summary row per case. Exit status: the number of failed cases.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
merino=$(realpath "${1:-$repo/build/merino}")
shared=${2:-$repo/../shared/data}
kills=${3:-12}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
mounted=""
cleanup() {
  kill -9 $(jobs -p) 2>/dev/null
  [ -n "$mounted" ] && umount "$mounted" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

GRAD_ACCUM=1 MAX_STEPS=30 CKPT_EVERY=1
# shellcheck source=../tests/train/e2e_common.sh
source "$repo/tests/train/e2e_common.sh"
train() { "$merino" train "$work/cfg.yaml" "$@"; }
rows=() failed=0
row() {  # CASE RESULT DETAIL
  rows+=("$(printf '%-12s %-5s %s' "$1" "$2" "$3")")
  [ "$2" = pass ] || [ "$2" = skip ] || failed=$((failed + 1))
}

# the uninterrupted reference
train --set run.dir="$work/ref" >/dev/null 2>&1 || { echo "the reference run failed"; exit 1; }
ref=$(sha256sum <"$work/ref/step_00000030/model.safetensors")
start=$(date +%s%N)
train --set run.dir="$work/time" --set train.max_steps=30 >/dev/null 2>&1
run_ms=$(( ($(date +%s%N) - start) / 1000000 ))

# kill -9 at moments spread over one run's length, then resume to the end
for i in $(seq 1 "$kills"); do
  dir="$work/k$i"
  "$merino" train "$work/cfg.yaml" --set run.dir="$dir" >/dev/null 2>&1 & pid=$!
  delay_ms=$(( run_ms * i / (kills + 1) ))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  at=$(readlink "$dir/latest" 2>/dev/null || echo none)
  if ! train --set run.dir="$dir" --resume auto >/dev/null 2>"$work/err"; then
    row "kill -9 #$i" FAIL "resume failed after ${delay_ms} ms: $(tail -1 "$work/err")"
  elif [ "$(sha256sum <"$dir/step_00000030/model.safetensors")" != "$ref" ]; then
    row "kill -9 #$i" FAIL "killed at ${delay_ms} ms (latest $at): final weights differ"
  else
    row "kill -9 #$i" pass "killed at ${delay_ms} ms (latest $at): resumed bit-exact"
  fi
done

# disk full: a tmpfs too small for every checkpoint
full="$work/full"
mkdir -p "$full"
if mount -t tmpfs -o size=48m tmpfs "$full" 2>/dev/null; then
  mounted=$full
  train --set run.dir="$full/run" --set checkpoint.keep_last=5 >/dev/null 2>"$work/err"
  code=$?
  msg=$(tail -1 "$work/err")
  left=$(python3 - "$full/run" <<'PY'
import glob, hashlib, json, sys
names = []
for d in sorted(glob.glob(sys.argv[1] + "/step_*")):
    files = json.load(open(d + "/state.json"))["files"]
    for f, want in files.items():
        data = open(d + "/" + f, "rb").read()
        assert len(data) == want["bytes"] and hashlib.sha256(data).hexdigest() == want["sha256"], d + "/" + f
    names.append(d.rsplit("/", 1)[1])
print(" ".join(names) or "none")
PY
)
  verified=$?
  if [ "$code" -ne 1 ] || ! grep -q "No space left on device" <<<"$msg"; then
    row "disk full" FAIL "exit $code: $msg"
  elif [ "$verified" -ne 0 ] || [ "$left" = none ]; then
    row "disk full" FAIL "no verifying checkpoint left: $left"
  else
    row "disk full" pass "exit 1, '$msg'; left verifying: $left"
  fi
else
  row "disk full" skip "mounting a tmpfs is not permitted here"
fi

# two trainers on one run.dir
"$merino" train "$work/cfg.yaml" --set run.dir="$work/c" --set train.max_steps=60 >/dev/null 2>&1 & pid=$!
wait_for "$work/c/metrics.jsonl"
start=$(date +%s%N)
train --set run.dir="$work/c" --resume auto >/dev/null 2>"$work/err"
code=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if wait "$pid" && [ "$code" -eq 2 ] && [ "$ms" -lt 1000 ] && grep -q "pid $pid" "$work/err" &&
   [ "$(python3 -c "import json;print(json.load(open('$work/c/latest/state.json'))['step'])")" = 60 ]; then
  row "concurrent" pass "second exit 2 in $ms ms: $(cut -c1-90 "$work/err")"
else
  row "concurrent" FAIL "second exit $code in $ms ms: $(cat "$work/err")"
fi

printf '%-12s %-5s %s\n' case result detail
printf '%s\n' "${rows[@]}"
echo "$failed failed"
exit "$failed"
