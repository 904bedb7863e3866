#!/usr/bin/env bash
# scripts/gpu-check.sh with DRY_RUN=1: prints every step of the plan with its budget, the budgets
# sum to at most 480 s by default (room for a rerun in a session's 15 minutes of device time)
# and to at most BUDGET_S when it is set, and nothing is written: no OUT, no build directory.
# Run by CTest as scripts.gpu_check_dry_run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps="preflight build checks model attention sdpa tests kernels pytorch sanitizer fp32 report"
for budget in "" 300; do
  env -u SKIP_BUILD DRY_RUN=1 ${budget:+BUDGET_S=$budget} OUT="$work/out" \
    bash "$root/scripts/gpu-check.sh" "$work/build" >"$work/plan"
  limit=${budget:-480}
  python3 - "$work/plan" "$limit" "$steps" <<'PY'
import re, sys
plan, limit, steps = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3].split()
rows = dict(re.findall(r"^  (\w+) +(\d+) s", plan, re.M))
listed = [s for s in rows if s != "total"]
assert listed == steps, f"plan lists {listed}, expected {steps}"
total = sum(int(rows[s]) for s in steps)
assert total == int(rows["total"]) and total <= limit, f"budgets sum to {total}, total says {rows['total']}, limit {limit}"
assert all(int(rows[s]) > 0 for s in steps if s != "report") or limit < 480, rows
print(f"ok: {len(steps)} steps, budgets sum to {total} s <= {limit} s")
PY
done
[ ! -e "$work/out" ] && [ ! -e "$work/build" ] || { echo "DRY_RUN=1 wrote $(ls "$work")"; exit 1; }
