#!/usr/bin/env bash
# One-command GPU check: configure + build (CUDA required), run every GPU test
# (ctest label `gpu`), run every GPU benchmark (bench_cuda_* programs), and write
# gpu-report.json and gpu-report.md.
#
# Usage: scripts/gpu-check.sh [BUILD_DIR]
#   BUILD_DIR   build directory ($1, else $BUILD_DIR). Unset: `cmake --preset gpu-bundle`
#               (./build-gpu) when gpu-deps/ exists (scripts/pack-gpu-deps.sh, for machines
#               without our Debian packages), else `cmake --preset default` (./build).
#               An existing configured directory is reused (rebuilt, not reconfigured).
# Environment:
#   OUT          output directory for the reports (default ./gpu-report)
#   JOBS         parallel build jobs (default: nproc)
#   TARGETS      build only these targets (space-separated; default: everything)
#   CUDA_ARCHS   override CMAKE_CUDA_ARCHITECTURES when configuring (default from CMake: 80;90)
#   BENCH_ARGS   extra arguments for every benchmark program (e.g. --benchmark_min_time=0.1)
#   SKIP_BENCH=1 run the tests only
#   REQUIRE_GPU=1  exit 3 when no CUDA device is visible (by default that is only a warning,
#                  and every GPU test reports Skipped)
# Exit status: 0 all GPU tests passed (or skipped without a device); 1 a GPU test or a
# benchmark failed; 2 configure/build/tooling error; 3 no device and REQUIRE_GPU=1.
set -euo pipefail

say() { printf '[gpu-check] %s\n' "$*"; }
die() { printf '[gpu-check] ERROR: %s\n' "$*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD="${1:-${BUILD_DIR:-}}"
OUT_DIR="${OUT:-$ROOT/gpu-report}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

for tool in cmake ctest; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH"
done
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null 2>&1 || die "nvcc not found (PATH or /usr/local/cuda/bin): cannot build the CUDA backend"

# CUDA libraries shipped as Python wheels (nvidia-*-cu12/13: site-packages/nvidia/*/lib)
if command -v python3 >/dev/null 2>&1; then
  wheel_libs="$(python3 - <<'EOF' 2>/dev/null || true
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
dirs = []
for base in list(getattr(nvidia, "__path__", [])):
    dirs += sorted(d for d in glob.glob(os.path.join(base, "*", "lib")) if os.path.isdir(d))
print(":".join(dirs))
EOF
)"
  if [[ -n "$wheel_libs" ]]; then
    export LD_LIBRARY_PATH="${wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "added NVIDIA wheel libraries to LD_LIBRARY_PATH: $wheel_libs"
  fi
fi

# device information (informational; the tests decide for themselves)
DEVICE="none visible"
if command -v nvidia-smi >/dev/null 2>&1; then
  DEVICE="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 4 | paste -sd';' - || true)"
  [[ -n "$DEVICE" ]] || DEVICE="nvidia-smi found no device"
fi
say "device: $DEVICE"

# ---- configure + build ----------------------------------------------------------------------
extra=(-DMERINO_CUDA=ON -DMERINO_BUILD_TESTS=ON -DMERINO_BUILD_BENCH=ON)
[[ -n "${CUDA_ARCHS:-}" ]] && extra+=("-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS}")
if [[ -z "$BUILD" && -d "$ROOT/gpu-deps" ]]; then
  # a machine without our Debian packages: build against the carried bundle
  BUILD="$ROOT/build-gpu"
  say "configuring with the gpu-bundle preset (dependencies from gpu-deps/) into $BUILD"
  cmake --preset gpu-bundle "${extra[@]}" || die "configure failed"
elif [[ -z "$BUILD" ]]; then
  BUILD="$ROOT/build"
  say "configuring with the default preset into $BUILD"
  cmake --preset default "${extra[@]}" || die "configure failed"
elif [[ -f "$BUILD/CMakeCache.txt" ]]; then
  say "reusing configured build directory $BUILD"
else
  say "configuring into $BUILD"
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  cmake -S "$ROOT" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "${extra[@]}" ||
    die "configure failed"
fi
BUILD="$(cd "$BUILD" && pwd)"
targets=()
# shellcheck disable=SC2206  # TARGETS is a word list on purpose
[[ -n "${TARGETS:-}" ]] && targets=(--target ${TARGETS})
say "building ($JOBS jobs)${TARGETS:+: $TARGETS}"
cmake --build "$BUILD" -j "$JOBS" "${targets[@]}" || die "build failed"

# ---- GPU tests --------------------------------------------------------------------------------
say "running GPU tests: ctest --test-dir $BUILD -L gpu"
set +e
ctest --test-dir "$BUILD" -L gpu --output-on-failure --no-tests=error \
  --output-junit "$OUT_DIR/ctest-gpu.xml" 2>&1 | tee "$OUT_DIR/ctest-gpu.log"
TEST_RC=${PIPESTATUS[0]}
set -e
[[ -f "$OUT_DIR/ctest-gpu.xml" ]] || die "ctest wrote no JUnit report (rc $TEST_RC)"

# ---- GPU benchmarks ---------------------------------------------------------------------------
BENCH_RC=0
mkdir -p "$OUT_DIR/bench"
rm -f "$OUT_DIR"/bench/*.json "$OUT_DIR"/bench/*.log "$OUT_DIR"/bench/*.txt
if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  mapfile -t benches < <(find "$BUILD/bench" -maxdepth 1 -type f -perm -u+x -name 'bench_cuda_*' 2>/dev/null | sort)
  [[ ${#benches[@]} -gt 0 ]] || say "WARNING: no bench_cuda_* programs under $BUILD/bench"
  for b in "${benches[@]}"; do
    name="$(basename "$b")"
    say "running benchmark $name"
    set +e
    # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
    "$b" --benchmark_format=json ${BENCH_ARGS:-} >"$OUT_DIR/bench/$name.json" 2>"$OUT_DIR/bench/$name.log"
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
      say "benchmark $name FAILED (exit $rc); stderr in $OUT_DIR/bench/$name.log"
      tail -n 20 "$OUT_DIR/bench/$name.log" >&2 || true
      BENCH_RC=1
    elif grep -q '^SKIPPED' "$OUT_DIR/bench/$name.json"; then
      say "benchmark $name: $(head -n 1 "$OUT_DIR/bench/$name.json")"
    fi
  done
fi

# PyTorch on the same shapes as bench_cuda_model, when a CUDA-enabled PyTorch >= 2.0 is there
if [[ "${SKIP_BENCH:-0}" != 1 ]] && command -v python3 >/dev/null 2>&1 &&
   python3 -c "import sys, torch, torch.nn.functional as F; sys.exit(0 if torch.cuda.is_available() and hasattr(F, 'scaled_dot_product_attention') else 1)" 2>/dev/null; then
  for model in gpt2-124m mobilellm-125m; do
    for dtype in fp32 bf16; do
      say "running bench/pytorch_baseline.py --model $model --dtype $dtype"
      python3 "$ROOT/bench/pytorch_baseline.py" --model "$model" --dtype "$dtype" \
        >>"$OUT_DIR/bench/pytorch_baseline.txt" 2>&1 || say "pytorch_baseline.py failed (see bench/pytorch_baseline.txt)"
    done
  done
  say "running bench/pytorch_attention.py (cuDNN / Flash SDPA on bench_cuda_attention's shapes)"
  python3 "$ROOT/bench/pytorch_attention.py" >"$OUT_DIR/bench/pytorch_attention.txt" 2>&1 ||
    say "pytorch_attention.py failed (see bench/pytorch_attention.txt)"
else
  say "no CUDA-enabled PyTorch >= 2.0: skipping bench/pytorch_baseline.py"
fi

# ---- reports ----------------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "python3 is needed to write the reports (tests exit $TEST_RC)"
set +e
python3 - "$OUT_DIR" "$BUILD" "$DEVICE" "$TEST_RC" <<'EOF'
import glob, json, os, re, subprocess, sys, datetime
import xml.etree.ElementTree as ET

out, build, device, test_rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""

tests = []
skip_reason = ""
root = ET.parse(os.path.join(out, "ctest-gpu.xml")).getroot()
for tc in root.iter("testcase"):
    if tc.find("failure") is not None or tc.get("status") == "fail":
        status = "failed"
    elif tc.find("skipped") is not None or tc.get("status") in ("notrun", "disabled"):
        status = "skipped"
        so = tc.findtext("system-out") or ""
        m = re.search(r"no CUDA device: .*", so)
        if m and not skip_reason:
            skip_reason = m.group(0).strip()
    else:
        status = "passed"
    tests.append({"name": tc.get("name"), "status": status, "time_s": float(tc.get("time") or 0)})
counts = {k: sum(t["status"] == k for t in tests) for k in ("passed", "failed", "skipped")}
counts["total"] = len(tests)

STANDARD = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
            "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
            "error_occurred", "error_message", "aggregate_name", "aggregate_unit", "label"}
benches, bench_notes = [], []
for path in sorted(glob.glob(os.path.join(out, "bench", "*.json"))):
    prog = os.path.basename(path)[:-5]
    text = open(path).read()
    if text.lstrip().startswith("SKIPPED"):
        bench_notes.append(f"{prog}: {text.strip().splitlines()[0]}")
        continue
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        bench_notes.append(f"{prog}: output is not JSON (crashed?), see bench/{prog}.log")
        continue
    for b in data.get("benchmarks", []):
        # every user counter a benchmark reports (GB/s, TFLOP/s, pct_peak, speedup_vs_ref, ...)
        counters = {k: v for k, v in b.items() if k not in STANDARD and isinstance(v, (int, float))}
        benches.append({
            "program": prog,
            "name": b.get("name"),
            "time": b.get("real_time"),
            "time_unit": b.get("time_unit"),
            "iterations": b.get("iterations"),
            "counters": counters,
            "label": b.get("label", ""),
            "error": b.get("error_message") if b.get("error_occurred") else None,
        })
bench_errors = sum(1 for b in benches if b["error"])

report = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git_commit": git("rev-parse", "HEAD"),
    "git_dirty": bool(git("status", "--porcelain")),
    "device": device,
    "build_dir": build,
    "ctest_exit_code": test_rc,
    "tests": counts,
    "skip_reason": skip_reason,
    "test_details": tests,
    "benchmarks": benches,
    "benchmark_notes": bench_notes,
}
with open(os.path.join(out, "gpu-report.json"), "w") as f:
    json.dump(report, f, indent=2)

md = ["# merino GPU check", "",
      f"- date: {report['date']}",
      f"- commit: `{report['git_commit'] or 'unknown'}`" + (" (dirty tree)" if report["git_dirty"] else ""),
      f"- device: {device}",
      f"- build: `{build}`", "",
      "## Tests (ctest -L gpu)", "",
      "| passed | failed | skipped | total |", "|---:|---:|---:|---:|",
      f"| {counts['passed']} | {counts['failed']} | {counts['skipped']} | {counts['total']} |", ""]
if skip_reason:
    md += [f"Skipped because: `{skip_reason}`", ""]
bad = [t for t in tests if t["status"] != "passed"]
if bad:
    md += ["| test | status |", "|---|---|"] + [f"| {t['name']} | {t['status']} |" for t in bad] + [""]
md += ["## Benchmarks", "",
       "Each program times a reference (naive kernel or library call) in the same run; the "
       "counters are what it reports (GB/s or TFLOP/s achieved, % of peak, speedup vs reference).", ""]
if benches:
    md += ["| program | benchmark | time | counters | note |", "|---|---|---:|---|---|"]
    for b in benches:
        t = f"{b['time']:.3f} {b['time_unit']}" if b["time"] is not None else ""
        counters = ", ".join(f"{k} {v:.3g}" for k, v in sorted(b["counters"].items()))
        md.append(f"| {b['program']} | {b['name']} | {t} | {counters} | {b['error'] or b['label'] or ''} |")
    md.append("")
for n in bench_notes:
    md.append(f"- {n}")
for txt, title in (("pytorch_baseline.txt", "PyTorch on the same shapes (bench/pytorch_baseline.py)"),
                   ("pytorch_attention.txt", "cuDNN / Flash SDPA on the attention shapes (bench/pytorch_attention.py)")):
    torch_txt = os.path.join(out, "bench", txt)
    if os.path.exists(torch_txt):
        md += ["", "## " + title, "", "```"] + open(torch_txt).read().strip().splitlines() + ["```"]
with open(os.path.join(out, "gpu-report.md"), "w") as f:
    f.write("\n".join(md) + "\n")
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
      f"benchmarks: {len(benches)} results, {bench_errors} errors")
sys.exit(1 if bench_errors else 0)
EOF
REPORT_RC=$?
set -e
[[ $REPORT_RC -le 1 ]] || die "writing the reports failed"
[[ $REPORT_RC -eq 1 ]] && BENCH_RC=1
say "reports: $OUT_DIR/gpu-report.md, $OUT_DIR/gpu-report.json"

if [[ $TEST_RC -ne 0 ]]; then
  say "FAILED: GPU tests failed (ctest exit $TEST_RC), see $OUT_DIR/ctest-gpu.log"
  exit 1
fi
if [[ $BENCH_RC -ne 0 ]]; then
  say "FAILED: a GPU benchmark failed, see $OUT_DIR/bench/"
  exit 1
fi
if grep -q 'skipped="0"' "$OUT_DIR/ctest-gpu.xml"; then
  say "OK: all GPU tests passed"
else
  say "WARNING: GPU tests were skipped (no usable CUDA device?): nothing was verified on a GPU"
  [[ "${REQUIRE_GPU:-0}" == 1 ]] && exit 3
fi
exit 0
