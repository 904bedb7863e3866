#!/usr/bin/env bash
# nas_smoke.sh MERINO PTB_DIR DIR: scripts/nas_correlation.sh end to end at toy scale (3
# candidates with one second seed, an interim report, then searched vs designed at one budget, 2 steps each), to
# prove the plumbing: draw, score, train, report. The numbers mean nothing. PTB_DIR: the
# committed datasets/ptb.
set -eu
merino=$1 ptb=$2 dir=$3
rm -rf "$dir"
script=$(dirname "$0")/../../scripts/nas_correlation.sh
export PTB_DIR=$ptb NAS_STEPS=2 NAS_VAL_BATCHES=1 OMP_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

NAS_CANDIDATES=3 NAS_EXTRA_SEEDS=1 bash "$script" "$merino" "$dir/corr"
[ "$(wc -l <"$dir/corr/runs.txt")" -eq 4 ] || fail "expected 3 candidates + 1 second seed"
for proxy in "entropy (with projections)" "entropy (before: --projection-weight 0)"; do
  grep -q "^| $proxy | 3 | " "$dir/corr/results.md" || fail "no '$proxy' row in results.md"
done
grep -q "^Seed noise: 1 candidates trained with two seeds" "$dir/corr/results.md" ||
  fail "no seed-noise line"
grep -q "^Noise ceiling: seed-to-seed SD" "$dir/corr/results.md" || fail "no noise ceiling"
grep -q "^n-gram reference on the same 1024 validation targets" "$dir/corr/results.md" ||
  fail "no n-gram reference line"
# a second call finds every run finished and only reports again
skipped=$(NAS_CANDIDATES=3 NAS_EXTRA_SEEDS=1 bash "$script" "$merino" "$dir/corr" |
  grep -c "finished earlier" || true)
[ "$skipped" -eq 4 ] || fail "the rerun skipped $skipped runs, not the four finished ones"
# an interim report while a run is unfinished trains nothing and says what it left out
mv "$dir/corr/runs/c02-s2" "$dir/c02-s2.away"
out=$(NAS_REPORT_ONLY=1 NAS_CANDIDATES=3 NAS_EXTRA_SEEDS=1 bash "$script" "$merino" "$dir/corr")
[[ $out != *"== training"* ]] || fail "NAS_REPORT_ONLY=1 trained a run"
grep -q '^\*\*Interim: 3 of 4 runs finished' "$dir/corr/results.md" || fail "no interim line"
grep -q "^| entropy (with projections) | 3 | " "$dir/corr/results.md" || fail "interim table"

mkdir -p "$dir/designed" && ln -s "$dir/corr/data" "$dir/designed/data"  # PTB prepared once
NAS_MODE=designed NAS_DESIGNED_BUDGETS=7000000 NAS_DESIGNED_SEEDS=1 \
  bash "$script" "$merino" "$dir/designed"
for shape in searched uniform mobile anchored; do
  grep -q "^| budget-7000000 | $shape | " "$dir/designed/results.md" || fail "no $shape row"
done
grep -Eq "^\| entropy \(the search's objective\) \| (searched|uniform|mobile|anchored|tie) \|$" \
  "$dir/designed/results.md" || fail "no proxy-picks row for the entropy"
echo "ok"
