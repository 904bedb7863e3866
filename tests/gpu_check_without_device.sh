#!/usr/bin/env bash
# scripts/gpu-check.sh runs for real only on the rare GPU machine, with minutes to spare, so its
# plumbing is checked here, on the CUDA build CI makes without a device: it must run every GPU
# test (each Skipped), every benchmark (each printing SKIPPED), leave exactly its four files in
# OUT with a report that counts every test carrying the `gpu` label, and exit 0 with its warning.
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
env -u SKIP_BENCH -u BENCH_ARGS -u REQUIRE_GPU OUT="$work/out" SKIP_BUILD=1 BUDGET_S=900 TEST_JOBS=2 \
  bash "$root/scripts/gpu-check.sh" "$build" >"$work/stdout" 2>&1 || rc=$?
[ "$rc" = 0 ] || { tail -n 30 "$work/stdout"; echo "gpu-check.sh exited $rc"; exit 1; }
grep -q "WARNING: GPU tests were skipped" "$work/stdout"

files=$(find "$work/out" -mindepth 1 -printf '%f\n' | sort | paste -sd' ')
[ "$files" = "gpu-check.log gpu-report-raw.tar.gz gpu-report.json gpu-report.md" ] ||
  { echo "OUT holds: $files"; exit 1; }
tar -tzf "$work/out/gpu-report-raw.tar.gz" | grep -x ./ctest-gpu.xml >/dev/null ||
  { echo "the raw archive holds no ctest-gpu.xml"; exit 1; }

gpu_tests=$(ctest --test-dir "$build" -N -L gpu | sed -n 's/^Total Tests: //p')
benches=$(find "$build/bench" -maxdepth 1 -type f -perm -u+x -name 'bench_cuda_*' | wc -l)
python3 - "$work/out/gpu-report.json" "$gpu_tests" "$benches" <<'EOF'
import json, sys
report, gpu_tests, benches = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
t = report["tests"]
assert gpu_tests > 0 and t["total"] == gpu_tests, f"report counts {t['total']} tests, ctest -L gpu lists {gpu_tests}"
assert t["failed"] == 0 and t["skipped"] > 0, t
assert report["skip_reason"].startswith("no CUDA device: "), report["skip_reason"]
skipped = [n for n in report["benchmark_notes"] if ": SKIPPED: no CUDA device" in n]
assert benches > 0 and len(skipped) == benches, f"{benches} benchmark programs, notes: {report['benchmark_notes']}"
assert report["not_run_within_budget"] == [], report["not_run_within_budget"]
print(f"ok: {t['total']} GPU tests ({t['skipped']} skipped, {t['passed']} passed without a device), "
      f"{benches} benchmark programs SKIPPED, four files in OUT")
EOF
