#!/usr/bin/env bash
# One-command GPU check: configure + build (CUDA required), run every GPU test
# (ctest label `gpu`), run every GPU benchmark (bench_cuda_* programs, and PyTorch on the same
# shapes when it is there), and write gpu-report.md and gpu-report.json.
#
# Usage: scripts/gpu-check.sh [BUILD_DIR]
#   BUILD_DIR   build directory ($1, else $BUILD_DIR). Unset: `cmake --preset gpu-bundle`
#               (./build-gpu) when gpu-deps/ exists (scripts/pack-gpu-deps.sh, for machines
#               without our Debian packages), else `cmake --preset default` (./build).
#               An existing configured directory is reused (rebuilt, not reconfigured).
# Environment:
#   OUT          output directory (default ./gpu-report). It receives four files only:
#                gpu-report.md, gpu-report.json, gpu-check.log (everything printed) and
#                gpu-report-raw.tar.gz (ctest's log and JUnit XML, each benchmark's JSON and
#                stderr, PyTorch's output), which stays unpacked in BUILD_DIR/gpu-check-raw.
#   BUDGET_S     wall-clock budget in seconds for the whole check (default: none). The tests get
#                what the build left, less 90 s; after them each benchmark runs only while time
#                remains, in order of importance, and is stopped at the budget; what did not run
#                is listed in the report. For machines lent for minutes.
#   TEST_TIMEOUT seconds one GPU test may take (default 300)
#   TEST_JOBS    GPU tests run at once (default 4)
#   JOBS         parallel build jobs (default: nproc)
#   TARGETS      build only these targets (space-separated; default: everything)
#   CUDA_ARCHS   override CMAKE_CUDA_ARCHITECTURES when configuring (default from CMake: 80;90)
#   BENCH_ARGS   extra arguments for every benchmark program (e.g. --benchmark_min_time=0.1)
#   SKIP_BENCH=1 run the tests only
#   SKIP_BUILD=1 test BUILD_DIR as it is (it must be built already)
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
TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
TEST_JOBS="${TEST_JOBS:-4}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
rm -f "$OUT_DIR/gpu-check.log" "$OUT_DIR/gpu-report.md" "$OUT_DIR/gpu-report.json" "$OUT_DIR/gpu-report-raw.tar.gz"
exec > >(tee "$OUT_DIR/gpu-check.log") 2>&1
tee_pid=$!
trap 'exec >&- 2>&-; wait "$tee_pid"' EXIT  # the log is complete when the script returns

[[ -z "${BUDGET_S:-}" || "$BUDGET_S" =~ ^[0-9]+$ ]] || die "BUDGET_S must be a whole number of seconds, not '$BUDGET_S'"
# seconds of BUDGET_S left (a large number without a budget)
left() { if [[ -n "${BUDGET_S:-}" ]]; then echo $(( BUDGET_S - SECONDS )); else echo 999999; fi; }

for tool in cmake ctest; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH"
done
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
command -v nvcc >/dev/null 2>&1 || die "nvcc not found (PATH or /usr/local/cuda/bin): cannot build the CUDA backend"

# CUDA libraries shipped as Python wheels (nvidia-*-cu12/13: site-packages/nvidia/*/lib) go on
# LD_LIBRARY_PATH, except those the toolkit has itself (cudart, cuBLAS, ...): the build compiled
# against the toolkit's, and LD_LIBRARY_PATH would put a wheel's other version before them. NCCL
# comes from its wheel (nvidia-nccl-cu13: nccl/include/nccl.h, nccl/lib/libnccl.so.2) when neither
# the toolkit nor the system has it, so that the one-GPU NCCL tests are built.
cuda_root="$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)"
nccl_args=()
if command -v python3 >/dev/null 2>&1; then
  wheel_info="$(python3 - "$cuda_root" <<'EOF' 2>/dev/null || true
import glob, os, re, sys
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
def names(d):  # library names without their versions: libcublasLt.so.13.0.1 -> libcublasLt
    return {re.sub(r"\.so.*", "", os.path.basename(f)) for f in glob.glob(os.path.join(d, "lib*.so*"))}
toolkit = set()
for d in [os.path.join(sys.argv[1], "lib64")] + glob.glob(os.path.join(sys.argv[1], "targets", "*", "lib")):
    toolkit |= names(d)
dirs, nccl = [], ""
for base in list(getattr(nvidia, "__path__", [])):
    for d in sorted(glob.glob(os.path.join(base, "*", "lib"))):
        if os.path.isdir(d) and not names(d) <= toolkit:
            dirs.append(d)
    inc, lib = os.path.join(base, "nccl", "include"), os.path.join(base, "nccl", "lib", "libnccl.so.2")
    if not nccl and os.path.isfile(os.path.join(inc, "nccl.h")) and os.path.isfile(lib):
        nccl = inc + ";" + lib
print(":".join(dirs))
print(nccl)
EOF
)"
  wheel_libs="$(sed -n 1p <<<"$wheel_info")"
  wheel_nccl="$(sed -n 2p <<<"$wheel_info")"
  if [[ -n "$wheel_libs" ]]; then
    export LD_LIBRARY_PATH="${wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "added NVIDIA wheel libraries the toolkit lacks to LD_LIBRARY_PATH: $wheel_libs"
  fi
  if [[ -n "$wheel_nccl" && ! -f "$cuda_root/include/nccl.h" && ! -f /usr/include/nccl.h ]]; then
    nccl_args=("-DMERINO_NCCL_INCLUDE_DIR=${wheel_nccl%%;*}" "-DMERINO_NCCL_LIBRARY=${wheel_nccl#*;}")
    say "NCCL from its wheel: ${wheel_nccl#*;}"
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
extra=(-DMERINO_CUDA=ON -DMERINO_BUILD_TESTS=ON -DMERINO_BUILD_BENCH=ON "${nccl_args[@]}")
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
if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
  say "not building (SKIP_BUILD=1): testing $BUILD as it is"
else
  say "building ($JOBS jobs)${TARGETS:+: $TARGETS}"
  cmake --build "$BUILD" -j "$JOBS" "${targets[@]}" || die "build failed"
  say "configured and built in $SECONDS s"
fi
RAW="$BUILD/gpu-check-raw"
rm -rf "$RAW"
mkdir -p "$RAW/bench"

# ---- GPU tests --------------------------------------------------------------------------------
# under a budget the tests may use all but 90 s of what is left (the report needs a few)
test_limit=()
if [[ -n "${BUDGET_S:-}" ]]; then
  (( $(left) > 150 )) || die "BUDGET_S=$BUDGET_S: only $(left) s left after the build, too little for the tests"
  test_limit=(--stop-time "$(date -d "@$(( $(date +%s) + $(left) - 90 ))" "+%H:%M:%S %z")")
fi
# the CPU twins' OpenMP threads share the cores among the tests run at once: oversubscribed,
# spinning OpenMP pools slow each other down many times over
cores="$(nproc 2>/dev/null || echo 2)"
test_threads="${OMP_NUM_THREADS:-$(( cores / TEST_JOBS > 0 ? cores / TEST_JOBS : 1 ))}"
say "running GPU tests: ctest --test-dir $BUILD -L gpu -j $TEST_JOBS --timeout $TEST_TIMEOUT ${test_limit[*]} (OMP_NUM_THREADS=$test_threads)"
set +e
OMP_NUM_THREADS="$test_threads" \
ctest --test-dir "$BUILD" -L gpu -j "$TEST_JOBS" --timeout "$TEST_TIMEOUT" "${test_limit[@]}" \
  --output-on-failure --no-tests=error --output-junit "$RAW/ctest-gpu.xml" 2>&1 | tee "$RAW/ctest-gpu.log"
TEST_RC=${PIPESTATUS[0]}
set -e
[[ -f "$RAW/ctest-gpu.xml" ]] || die "ctest wrote no JUnit report (rc $TEST_RC)"

# ---- GPU benchmarks ---------------------------------------------------------------------------
# In order of importance, so that a budget cuts the least useful: the end-to-end step with
# PyTorch's on the same shapes, attention with cuDNN's SDPA, then the kernels.
BENCH_RC=0
torch_ok=0
if command -v python3 >/dev/null 2>&1 &&
   python3 -c "import sys, torch, torch.nn.functional as F; sys.exit(0 if torch.cuda.is_available() and hasattr(F, 'scaled_dot_product_attention') else 1)" 2>/dev/null; then
  torch_ok=1
fi
steps=(bench_cuda_model torch:gpt2-124m:bf16 torch:mobilellm-125m:bf16 bench_cuda_attention torch-attention
       bench_cuda_kernels bench_cuda_matmul bench_cuda_optim bench_cuda_embedding bench_cuda_activation)
while IFS= read -r b; do  # any other benchmark program, so that none is forgotten
  [[ " ${steps[*]} " == *" $(basename "$b") "* ]] || steps+=("$(basename "$b")")
done < <(find "$BUILD/bench" -maxdepth 1 -type f -perm -u+x -name 'bench_cuda_*' 2>/dev/null | sort)
steps+=(torch:gpt2-124m:fp32 torch:mobilellm-125m:fp32)

# run_step NAME OUTFILE ERRFILE CMD...: runs CMD within what is left of the budget; a step cut
# by the budget is listed in not_run.txt, not counted as failed, and its output kept as .partial
run_step() {
  local name=$1 out=$2 err=$3 rc
  shift 3
  if (( $(left) < 30 )); then
    echo "$name" >>"$RAW/not_run.txt"
    say "not run (time budget): $name"
    return 0
  fi
  say "running $name"
  set +e
  if [[ -n "${BUDGET_S:-}" ]]; then timeout "$(left)" "$@" >"$out" 2>"$err"; else "$@" >"$out" 2>"$err"; fi
  rc=$?
  set -e
  if [[ -n "${BUDGET_S:-}" && $rc -eq 124 ]]; then
    echo "$name (stopped at the time budget)" >>"$RAW/not_run.txt"
    say "$name stopped at the time budget"
    mv "$out" "$out.partial"  # cut short: not a result for the report
    return 0
  fi
  return $rc
}

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  [[ $torch_ok == 1 ]] || say "no CUDA-enabled PyTorch >= 2.0: bench/pytorch_baseline.py and pytorch_attention.py are skipped"
  for step in "${steps[@]}"; do
    case "$step" in
    bench_cuda_*)
      b="$BUILD/bench/$step"
      [[ -x "$b" ]] || { say "WARNING: $b was not built"; continue; }
      # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
      if ! run_step "$step" "$RAW/bench/$step.json" "$RAW/bench/$step.log" "$b" --benchmark_format=json ${BENCH_ARGS:-}; then
        say "benchmark $step FAILED; its stderr is bench/$step.log in the raw archive"
        tail -n 20 "$RAW/bench/$step.log" || true
        BENCH_RC=1
      elif grep -q '^SKIPPED' "$RAW/bench/$step.json" 2>/dev/null; then
        say "benchmark $step: $(head -n 1 "$RAW/bench/$step.json")"
      fi
      ;;
    torch:*)
      [[ $torch_ok == 1 ]] || continue
      IFS=: read -r _ model dtype <<<"$step"
      run_step "PyTorch $model $dtype" "$RAW/bench/torch_step.out" "$RAW/bench/torch_step.err" \
        python3 "$ROOT/bench/pytorch_baseline.py" --model "$model" --dtype "$dtype" ||
        say "pytorch_baseline.py --model $model --dtype $dtype failed (see bench/pytorch_baseline.txt)"
      cat "$RAW/bench/torch_step.out" "$RAW/bench/torch_step.err" >>"$RAW/bench/pytorch_baseline.txt" 2>/dev/null || true
      rm -f "$RAW/bench/torch_step.out" "$RAW/bench/torch_step.err"
      ;;
    torch-attention)
      [[ $torch_ok == 1 ]] || continue
      run_step "PyTorch attention (cuDNN / Flash SDPA)" "$RAW/bench/pytorch_attention.txt" "$RAW/bench/pytorch_attention.err" \
        python3 "$ROOT/bench/pytorch_attention.py" || say "pytorch_attention.py failed (see bench/pytorch_attention.txt)"
      cat "$RAW/bench/pytorch_attention.err" >>"$RAW/bench/pytorch_attention.txt" 2>/dev/null || true
      rm -f "$RAW/bench/pytorch_attention.err"
      ;;
    esac
  done
fi

# ---- reports ----------------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "python3 is needed to write the reports (tests exit $TEST_RC)"
set +e
python3 - "$OUT_DIR" "$RAW" "$BUILD" "$DEVICE" "$TEST_RC" "${BUDGET_S:-}" <<'EOF'
import glob, json, os, re, subprocess, sys, datetime
import xml.etree.ElementTree as ET

out, raw, build, device, test_rc, budget = sys.argv[1:7]
test_rc = int(test_rc)

def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""

tests = []
skip_reason = ""
root = ET.parse(os.path.join(raw, "ctest-gpu.xml")).getroot()
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
for path in sorted(glob.glob(os.path.join(raw, "bench", "*.json"))):
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
not_run_path = os.path.join(raw, "not_run.txt")
not_run = open(not_run_path).read().split("\n")[:-1] if os.path.exists(not_run_path) else []

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
    "budget_s": int(budget) if budget else None,
    "not_run_within_budget": not_run,
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
if not_run:
    md += ["", f"Not run within the time budget of {budget} s: " + ", ".join(not_run) + "."]
for txt, title in (("pytorch_baseline.txt", "PyTorch on the same shapes (bench/pytorch_baseline.py)"),
                   ("pytorch_attention.txt", "cuDNN / Flash SDPA on the attention shapes (bench/pytorch_attention.py)")):
    torch_txt = os.path.join(raw, "bench", txt)
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
tar -czf "$OUT_DIR/gpu-report-raw.tar.gz" -C "$RAW" .
say "reports: $OUT_DIR/gpu-report.md, $OUT_DIR/gpu-report.json, $OUT_DIR/gpu-report-raw.tar.gz (unpacked: $RAW)"

if [[ $TEST_RC -ne 0 ]]; then
  say "FAILED: GPU tests failed (ctest exit $TEST_RC), see $RAW/ctest-gpu.log"
  exit 1
fi
if [[ $BENCH_RC -ne 0 ]]; then
  say "FAILED: a GPU benchmark failed, see $RAW/bench/"
  exit 1
fi
if grep -q 'skipped="0"' "$RAW/ctest-gpu.xml"; then
  say "OK: all GPU tests passed"
else
  say "WARNING: GPU tests were skipped (no usable CUDA device?): nothing was verified on a GPU"
  [[ "${REQUIRE_GPU:-0}" == 1 ]] && exit 3
fi
exit 0
