#!/usr/bin/env bash
# scripts/gpu-check.sh runs for real only on the rare GPU machine, with minutes to spare, so its
# plumbing is checked here, on the CUDA build CI makes without a device: the preflight finds no
# device, every GPU step is reported "skipped: no device", every test carrying the `gpu` label is
# listed in the report as skipped, every program the check would run was built, OUT holds exactly
# its four files, and the script exits 0 with its warning (3 with REQUIRE_GPU=1).
# Run by CTest as scripts.gpu_check_without_device (exit 77, skipped, where a GPU is visible:
# there the script runs for real, not as a test).
# Usage: gpu_check_without_device.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "SKIPPED: a GPU is visible, so scripts/gpu-check.sh runs for real there"; exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rc=0
env -u BUDGET_S -u DRY_RUN -u REQUIRE_GPU OUT="$work/out" SKIP_BUILD=1 \
  bash "$root/scripts/gpu-check.sh" "$build" >"$work/stdout" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -n 30 "$work/stdout"; echo "gpu-check.sh exited $rc"; exit 1; }
grep -q "WARNING: no CUDA device: every GPU step was skipped" "$work/stdout"

files=$(find "$work/out" -mindepth 1 -printf '%f\n' | sort | paste -sd' ')
[ "$files" = "gpu-check.log gpu-report-raw.tar.gz gpu-report.json gpu-report.md" ] ||
  { echo "OUT holds: $files"; exit 1; }
tar -tzf "$work/out/gpu-report-raw.tar.gz" | grep -x ./runs.tsv >/dev/null ||
  { echo "the raw archive holds no runs.tsv"; exit 1; }
grep -q '| checks | 30 | 0 | skipped: no device |' "$work/out/gpu-report.md" ||
  { echo "gpu-report.md has no 'checks ... skipped: no device' row"; exit 1; }

gpu_tests=$(ctest --test-dir "$build" -N -L gpu | sed -n 's/^Total Tests: //p')
python3 - "$work/out/gpu-report.json" "$gpu_tests" <<'PY'
import json, sys
report, gpu_tests = json.load(open(sys.argv[1])), int(sys.argv[2])
steps = {s["step"]: s["status"] for s in report["steps"]}
gpu_steps = ["checks", "model", "attention", "sdpa", "tests", "kernels", "pytorch", "sanitizer", "fp32"]
assert all(steps[s] == "skipped: no device" for s in gpu_steps), steps
assert steps["preflight"] == "ok" and steps["build"] == "skipped: SKIP_BUILD=1", steps
assert sum(s["budget_s"] for s in report["steps"]) <= 480 == report["budget_s"], report["steps"]
assert not report["have_device"] and report["failures"] == [], report["failures"]
t = report["tests"]
assert gpu_tests > 0 and t["total"] == gpu_tests == t["skipped"], f"report: {t}, ctest -L gpu lists {gpu_tests}"
assert all(d["status"] == "skipped: no device" for d in report["test_details"])
targets = {d["target"]: d["status"] for d in report["build_targets"]}
for must in ("bench_cuda_model", "cuda_production_check", "bench_cuda_attention", "merino"):
    assert targets.get(must) == "built", targets
assert all(s == "built" for s in targets.values()), targets
print(f"ok: {len(gpu_steps)} GPU steps skipped: no device, {t['total']} GPU tests listed, "
      f"{len(targets)} targets built, four files in OUT")
PY

rc=0
env -u BUDGET_S -u DRY_RUN OUT="$work/out3" SKIP_BUILD=1 REQUIRE_GPU=1 \
  bash "$root/scripts/gpu-check.sh" "$build" >"$work/stdout3" 2>&1 || rc=$?
[ "$rc" = 3 ] || { tail -n 5 "$work/stdout3"; echo "REQUIRE_GPU=1 without a device exited $rc, not 3"; exit 1; }
echo "ok: REQUIRE_GPU=1 exits 3"
