#!/usr/bin/env bash
# One-command GPU check for a machine lent for minutes: preflight, build of what the check runs,
# then the measurements and checks in order of importance, each step within its own share of a
# wall-clock budget, and gpu-report.md / gpu-report.json (docs/CUDA.md, "Running the GPU check").
#
# Usage: scripts/gpu-check.sh [BUILD_DIR]
#   BUILD_DIR   build directory ($1, else $BUILD_DIR). Unset: `cmake --preset gpu-bundle`
#               (./build-gpu) when gpu-deps/ exists (scripts/pack-gpu-deps.sh, for machines
#               without our Debian packages), else `cmake --preset default` (./build).
#               An existing configured directory is reused (reconfigured for the check's options).
# Environment:
#   BUDGET_S     wall-clock budget of the whole check in seconds (default 480, leaving room for a
#                rerun in a session's 15 minutes of device time). The steps' budgets below are
#                its shares (scaled when BUDGET_S is not 480); a step may also use what earlier
#                steps left, but never the time the later steps' budgets need. A step whose time
#                is gone is not run, one that runs out is stopped; the report lists both.
#   DRY_RUN=1    print the plan with each step's budget and exit 0, building nothing
#   OUT          output directory (default ./gpu-report): gpu-report.md, gpu-report.json,
#                gpu-check.log (everything printed) and gpu-report-raw.tar.gz (build log, ctest's
#                JUnit XML, each program's JSON and stderr, PyTorch's output, sanitizer logs),
#                also left unpacked in BUILD_DIR/gpu-check-raw. Four files: the device tool
#                returns at most eight.
#   SKIP_BUILD=1 use BUILD_DIR as it is (the programs that exist there run)
#   JOBS         parallel build jobs (default: nproc)
#   TEST_JOBS    GPU tests run at once (default 4); each gets nproc / TEST_JOBS OpenMP threads
#   TEST_TIMEOUT seconds one GPU test may take (default 300)
#   CUDA_ARCHS   CMAKE_CUDA_ARCHITECTURES (default: the visible GPU's, else 90)
#   BENCH_ARGS   extra arguments of the kernel benchmark programs (default
#                --benchmark_min_time=0.1, a fifth of Google Benchmark 1.7's default)
#   REQUIRE_GPU=1  exit 3 when no device is visible (by default the report says "skipped: no
#                device" for every GPU step and the exit status is 0)
# Exit status: 0 everything that ran passed; 1 a build target, check, test, benchmark or
# sanitizer run failed; 2 preflight, configure or tooling error; 3 no device and REQUIRE_GPU=1.
set -euo pipefail

say() { printf '[gpu-check] %s\n' "$*"; }
die() { printf '[gpu-check] ERROR: %s\n' "$*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# ---- the plan ----------------------------------------------------------------------------------
# step:budget at BUDGET_S=480, in the order they run. The build comes first because everything
# needs it; then what decides things: the production-shape checks (a wrong loss makes every number
# after it moot), the end-to-end bf16 step with its per-op breakdown, merino's attention with
# cuDNN/Flash SDPA on the same shapes, the GPU tests (every test's pass/fail, after the numbers
# that matter most and before the ones that matter less), the kernel families, PyTorch eager and
# torch.compile on the model's shapes, a time-boxed compute-sanitizer pass, and fp32 last.
PLAN=(preflight:10 build:150 checks:30 model:40 attention:25 sdpa:20 tests:60 kernels:40
      pytorch:50 sanitizer:35 fp32:15 report:5)
declare -A WHAT=(
  [preflight]="nvidia-smi; a ten-line kernel through nvcc, run; torch.cuda in python3"
  [build]="ninja -k 0: bench_cuda_model, cuda_production_check, bench_cuda_attention first, then merino, the GPU test programs and the other bench_cuda_* (sm_90)"
  [checks]="cuda_production_check: step-0 loss within 0.5 of ln V and 20 finite steps (bf16, B=16, T=1024), attention vs its CPU twin"
  [model]="bench_cuda_model bf16: gpt2-124m B=16 and 32, mobilellm-125m, merino-64m; MFU; per-op breakdown of one step"
  [attention]="bench_cuda_attention (every variant it registers)"
  [sdpa]="bench/pytorch_attention.py: cuDNN and Flash SDPA on the same shapes"
  [tests]="ctest -L gpu (TEST_JOBS at once, nproc/TEST_JOBS threads each)"
  [kernels]="bench_cuda_kernels, _matmul, _optim, _embedding, _activation (and any other bench_cuda_*)"
  [pytorch]="bench/pytorch_baseline.py bf16: eager for gpt2-124m and mobilellm-125m (vocab 32,000), then torch.compile"
  [sanitizer]="compute-sanitizer: racecheck + synccheck on attention per head-size class, memcheck on kernel tests"
  [fp32]="bench_cuda_model fp32; pytorch_baseline.py fp32 eager"
  [report]="gpu-report.md / .json"
)
PLAN_TOTAL=480
BUDGET_S="${BUDGET_S:-$PLAN_TOTAL}"
[[ "$BUDGET_S" =~ ^[0-9]+$ ]] || die "BUDGET_S must be a whole number of seconds, not '$BUDGET_S'"
STEPS=()
declare -A BUDGET=()
for entry in "${PLAN[@]}"; do
  STEPS+=("${entry%%:*}")
  BUDGET[${entry%%:*}]=$(( ${entry##*:} * BUDGET_S / PLAN_TOTAL ))
done

if [[ "${DRY_RUN:-0}" == 1 ]]; then
  say "plan for BUDGET_S=$BUDGET_S (nothing is built or run: DRY_RUN=1)"
  total=0
  for s in "${STEPS[@]}"; do
    printf '  %-10s %4d s  %s\n' "$s" "${BUDGET[$s]}" "${WHAT[$s]}"
    total=$(( total + BUDGET[$s] ))
  done
  printf '  %-10s %4d s\n' "total" "$total"
  exit 0
fi

BUILD="${1:-${BUILD_DIR:-}}"
OUT_DIR="${OUT:-$ROOT/gpu-report}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
TEST_JOBS="${TEST_JOBS:-4}"
TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
BENCH_ARGS="${BENCH_ARGS:---benchmark_min_time=0.1}"
CORES="$(nproc 2>/dev/null || echo 2)"
TEST_THREADS=$(( CORES / TEST_JOBS > 0 ? CORES / TEST_JOBS : 1 ))
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
rm -f "$OUT_DIR/gpu-check.log" "$OUT_DIR/gpu-report.md" "$OUT_DIR/gpu-report.json" "$OUT_DIR/gpu-report-raw.tar.gz"
exec > >(tee "$OUT_DIR/gpu-check.log") 2>&1
tee_pid=$!
trap 'exec >&- 2>&-; wait "$tee_pid"' EXIT  # the log is complete when the script returns

if [[ -z "$BUILD" ]]; then
  if [[ -d "$ROOT/gpu-deps" ]]; then BUILD="$ROOT/build-gpu"; PRESET=gpu-bundle; else BUILD="$ROOT/build"; PRESET=default; fi
fi
mkdir -p "$BUILD"
BUILD="$(cd "$BUILD" && pwd)"
RAW="$BUILD/gpu-check-raw"
rm -rf "$RAW"
mkdir -p "$RAW/bench" "$RAW/sanitizer" "$RAW/preflight"
: >"$RAW/runs.tsv"

# ---- time ------------------------------------------------------------------------------------
# seconds step $1 may run now: what is left of BUDGET_S less what the later steps' budgets need
step_time() {
  local later=0 seen=0 s
  for s in "${STEPS[@]}"; do
    (( seen )) && later=$(( later + BUDGET[$s] ))
    [[ $s == "$1" ]] && seen=1
  done
  echo $(( BUDGET_S - SECONDS - later ))
}
# record STEP RUN STATUS SECONDS NOTE: one line of runs.tsv, which the report reads
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$RAW/runs.tsv"; }

# run_timed STEP RUN LIMIT OUTFILE ERRFILE CMD...: CMD with at most LIMIT seconds, stdout to
# OUTFILE and stderr to ERRFILE; records ok, failed (exit N) or stopped at its budget, and
# returns CMD's status (124 when stopped)
run_timed() {
  local step=$1 run=$2 limit=$3 out=$4 err=$5 rc t0=$SECONDS
  shift 5
  if (( limit < 3 )); then
    record "$step" "$run" "not run: time budget" 0 "$limit s left"
    say "$step / $run: not run (time budget)"
    return 124
  fi
  say "$step / $run (at most $limit s)"
  set +e
  timeout --kill-after=5 "$limit" "$@" >"$out" 2>"$err"
  rc=$?
  set -e
  if (( rc == 124 || rc == 137 )); then
    record "$step" "$run" "stopped at its budget" $(( SECONDS - t0 )) "after $limit s"
    say "$step / $run: stopped at its budget ($limit s)"
    return 124
  elif (( rc != 0 )); then
    record "$step" "$run" "failed (exit $rc)" $(( SECONDS - t0 )) "$(tail -n 3 "$err" | tr '\t\n' '  ')"
    say "$step / $run: FAILED (exit $rc); last lines of its stderr:"
    tail -n 15 "$err" || true
  else
    record "$step" "$run" "ok" $(( SECONDS - t0 ))
  fi
  return $rc
}
# skip_step STEP WHY: records every run of the step as not run
skip_step() { record "$1" "-" "$2" 0; say "$1: $2"; }
# write_report: gpu-report.md / .json and the raw archive into OUT; the writer's status (1: failures)
write_report() {
  local rc=0
  python3 "$ROOT/scripts/gpu_report.py" --raw "$RAW" --out "$OUT_DIR" --build "$BUILD" --budget "$BUDGET_S" \
    --have-device "$HAVE_DEVICE" --plan "$(for s in "${STEPS[@]}"; do printf '%s:%s ' "$s" "${BUDGET[$s]}"; done)" || rc=$?
  tar -czf "$OUT_DIR/gpu-report-raw.tar.gz" -C "$RAW" .
  return $rc
}
# stop STEP MESSAGE: a preflight, configure or tooling error ends the check (exit 2), reported
stop() {
  record "$1" - failed "$SECONDS" "$2"
  write_report >/dev/null 2>&1 || true
  die "$2"
}
HAVE_DEVICE=0

# ---- tools -------------------------------------------------------------------------------------
for tool in cmake ctest python3 timeout; do
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

# ---- 1. preflight: one line each, failing fast -------------------------------------------------
TORCH_OK=0
ARCH="${CUDA_ARCHS:-}"
pre=$RAW/preflight
t0=$SECONDS
if ! command -v nvidia-smi >/dev/null 2>&1; then
  smi="not found"
elif nvidia-smi -L >"$pre/gpus.txt" 2>&1 && grep -q '^GPU' "$pre/gpus.txt"; then
  HAVE_DEVICE=1
  # the details, for the report; a field this driver lacks costs only the details
  fields=name,driver_version,memory.total,compute_cap,clocks.max.sm,clocks.max.memory,clocks.current.sm,clocks.current.memory
  nvidia-smi --query-gpu="$fields" --format=csv,noheader >"$pre/nvidia-smi.csv" 2>"$pre/nvidia-smi.err" ||
    rm -f "$pre/nvidia-smi.csv"
  smi="$(head -n 1 "$pre/nvidia-smi.csv" 2>/dev/null || true)"
  smi="${smi:-$(head -n 1 "$pre/gpus.txt")}"
  cap="$(awk -F', ' 'NR==1{print $4}' "$pre/nvidia-smi.csv" 2>/dev/null || true)"
  [[ -z "$ARCH" && "$cap" =~ ^[0-9]+\.[0-9]+$ ]] && ARCH="${cap/./}"
else
  smi="$(grep . "$pre/gpus.txt" | head -n 1 || true)"
fi
echo "nvidia-smi: ${smi:-no output}" >"$pre/nvidia-smi.txt"
ARCH="${ARCH:-90}"
say "preflight: $(cat "$pre/nvidia-smi.txt")"
nvcc --version | tail -n 2 | head -n 1 >"$pre/nvcc.txt" 2>&1 || true
# a ten-line kernel: compiled for the build's architecture, run where there is a device
cat >"$pre/axpy.cu" <<'EOF'
#include <cstdio>
__global__ void twice(float* x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] = 2.f * i; }
int main() {
  const int n = 1000; float* d; float h[n];
  if (cudaMalloc(&d, n * sizeof(float)) != cudaSuccess) { std::puts("cudaMalloc failed"); return 1; }
  twice<<<(n + 255) / 256, 256>>>(d, n);
  cudaError_t e = cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) { std::printf("%s\n", cudaGetErrorString(e)); return 1; }
  for (int i = 0; i < n; ++i) if (h[i] != 2.f * i) { std::printf("wrong value at %d\n", i); return 1; }
  std::puts("ok"); return 0; }
EOF
if ! nvcc -O2 -arch="sm_${ARCH%%;*}" -o "$pre/axpy" "$pre/axpy.cu" >"$pre/nvcc-kernel.txt" 2>&1; then
  stop preflight "preflight: nvcc could not compile a ten-line kernel for sm_${ARCH%%;*}: $(head -n 1 "$pre/nvcc-kernel.txt")"
fi
if (( HAVE_DEVICE )); then
  if ! timeout 30 "$pre/axpy" >"$pre/kernel-run.txt" 2>&1; then
    stop preflight "preflight: a ten-line kernel built by nvcc ($(cat "$pre/nvcc.txt")) does not run: $(head -n 1 "$pre/kernel-run.txt")"
  fi
  say "preflight: nvcc kernel for sm_${ARCH%%;*} compiled and ran"
else
  say "preflight: nvcc kernel for sm_${ARCH%%;*} compiled (not run: no device)"
fi
if python3 - >"$pre/torch.txt" 2>&1 <<'EOF'
import sys, torch
ok = torch.cuda.is_available()
print("torch", torch.__version__, "CUDA", torch.version.cuda, "device",
      torch.cuda.get_device_name() if ok else "none")
sys.exit(0 if ok and hasattr(torch.nn.functional, "scaled_dot_product_attention") else 1)
EOF
then
  TORCH_OK=1
  say "preflight: $(tail -n 1 "$pre/torch.txt")"
else
  say "preflight: WARNING: no CUDA-enabled PyTorch >= 2.0 ($(tail -n 1 "$pre/torch.txt")): the PyTorch steps are skipped"
fi
record preflight - ok $(( SECONDS - t0 )) "$(cat "$pre/nvidia-smi.txt")"
(( HAVE_DEVICE )) || say "WARNING: no CUDA device visible: every GPU step is skipped, nothing is verified on a GPU"

# ---- 2. build: what the check runs, critical targets first, keep going past errors -------------
t0=$SECONDS
CRITICAL=(bench_cuda_model cuda_production_check bench_cuda_attention)
configure_args=(-DMERINO_CUDA=ON -DMERINO_BUILD_TESTS=ON -DMERINO_BUILD_BENCH=ON
                "-DCMAKE_CUDA_ARCHITECTURES=$ARCH" "-DMERINO_GPU_TEST_THREADS=$TEST_THREADS" "${nccl_args[@]}")
if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
  [[ -f "$BUILD/CMakeCache.txt" ]] || stop build "SKIP_BUILD=1, but $BUILD is not a configured build directory"
  say "build: not building (SKIP_BUILD=1): running what $BUILD holds"
  record build - "skipped: SKIP_BUILD=1" 0
else
  if [[ -f "$BUILD/CMakeCache.txt" ]]; then
    say "build: reconfiguring $BUILD"
    cmake -S "$ROOT" -B "$BUILD" "${configure_args[@]}" >"$RAW/configure.log" 2>&1 ||
      { tail -n 20 "$RAW/configure.log"; stop build "configure failed: $(grep -m 1 'CMake Error' "$RAW/configure.log" || tail -n 1 "$RAW/configure.log")"; }
  elif [[ -n "${PRESET:-}" ]]; then
    say "build: configuring the $PRESET preset into $BUILD"
    cmake --preset "$PRESET" "${configure_args[@]}" >"$RAW/configure.log" 2>&1 ||
      { tail -n 20 "$RAW/configure.log"; stop build "configure failed: $(grep -m 1 'CMake Error' "$RAW/configure.log" || tail -n 1 "$RAW/configure.log")"; }
  else
    say "build: configuring into $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${configure_args[@]}" >"$RAW/configure.log" 2>&1 ||
      { tail -n 20 "$RAW/configure.log"; stop build "configure failed: $(grep -m 1 'CMake Error' "$RAW/configure.log" || tail -n 1 "$RAW/configure.log")"; }
  fi
fi
[[ -f "$BUILD/build.ninja" ]] || stop build "$BUILD was not configured with Ninja (the check builds with ninja -k 0)"
command -v ninja >/dev/null 2>&1 || stop build "'ninja' not found on PATH"
# the GPU test programs, merino (train.cuda_bf16_tracks_cpu runs it) and every CUDA benchmark
mapfile -t REST < <(ninja -C "$BUILD" -t targets all 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\): .*/\1/p' |
  grep -xE 'merino|test_cuda_[a-z0-9_]+|test_[a-z0-9_]*nccl[a-z0-9_]*|bench_cuda_[a-z0-9_]+' |
  grep -vxE "$(IFS='|'; echo "${CRITICAL[*]}")" | sort -u)
ALL_TARGETS=("${CRITICAL[@]}" "${REST[@]}")
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  : >"$RAW/build.log"
  for phase in critical rest; do
    if [[ $phase == critical ]]; then targets=("${CRITICAL[@]}"); else targets=("${REST[@]}"); fi
    limit=$(step_time build)
    if (( limit < 3 )); then record build "$phase" "not run: time budget" 0; continue; fi
    say "build: ninja -k 0 -j $JOBS (${#targets[@]} $phase targets, at most $limit s, sm_$ARCH)"
    set +e
    timeout --kill-after=5 "$limit" ninja -C "$BUILD" -k 0 -j "$JOBS" "${targets[@]}" >>"$RAW/build.log" 2>&1
    rc=$?
    set -e
    case $rc in
      0) record build "$phase" ok $(( SECONDS - t0 )) ;;
      124|137) record build "$phase" "stopped at its budget" $(( SECONDS - t0 )) "after $limit s" ;;
      *) record build "$phase" "failed (exit $rc)" $(( SECONDS - t0 )) "$(grep -m 3 '^FAILED: ' "$RAW/build.log" | tr '\n\t' '  ')" ;;
    esac
  done
fi
# a target counts as built when ninja has nothing left to do for it (SKIP_BUILD: when it exists)
: >"$RAW/targets.tsv"
for t in "${ALL_TARGETS[@]}"; do
  if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
    if [[ -n "$(find "$BUILD" -name "$t" -type f -perm -u+x -print -quit)" ]]; then st=built; else st="not built"; fi
  elif ninja -C "$BUILD" -n "$t" 2>/dev/null | grep -q 'no work to do'; then
    st=built
  elif grep -q "^FAILED: .*\b$t\b" "$RAW/build.log" 2>/dev/null ||
       grep -qE "^FAILED: .*CMakeFiles/$t\.dir/" "$RAW/build.log" 2>/dev/null; then
    st=failed
  else
    st="not built"
  fi
  printf '%s\t%s\n' "$t" "$st" >>"$RAW/targets.tsv"
done
failed_targets="$(awk -F'\t' '$2=="failed"{print $1}' "$RAW/targets.tsv" | paste -sd' ' -)"
say "build: $(grep -c $'\tbuilt$' "$RAW/targets.tsv") of ${#ALL_TARGETS[@]} targets built${failed_targets:+; FAILED: $failed_targets}"
# the path of a built program, empty when it was not built
program() {
  awk -F'\t' -v t="$1" '$1==t && $2=="built"{f=1} END{exit !f}' "$RAW/targets.tsv" || return 0
  find "$BUILD" -name "$1" -type f -perm -u+x -print -quit
}

# ---- the GPU steps -----------------------------------------------------------------------------
gpu_step_ready() {  # STEP: false (and recorded) when the step cannot run
  if (( ! HAVE_DEVICE )); then skip_step "$1" "skipped: no device"; return 1; fi
  if (( $(step_time "$1") < 3 )); then skip_step "$1" "not run: time budget"; return 1; fi
  return 0
}
# bench STEP PROGRAM [ARGS...]: a benchmark program's JSON to bench/PROGRAM.json within LIMIT
bench() {
  local step=$1 prog=$2 path limit=${LIMIT:-$(step_time "$1")}
  shift 2
  path="$(program "$prog")"
  if [[ -z "$path" ]]; then record "$step" "$prog" "skipped: not built" 0; return 0; fi
  run_timed "$step" "$prog" "$limit" "$RAW/bench/$prog${SUFFIX:-}.json" "$RAW/bench/$prog${SUFFIX:-}.log" \
    "$path" --benchmark_format=json "$@" || true
}
# python_run STEP RUN LIMIT OUTFILE SCRIPT ARGS...: a PyTorch script, its output appended to OUTFILE
python_run() {
  local step=$1 run=$2 limit=$3 out=$4
  shift 4
  run_timed "$step" "$run" "$limit" "$RAW/py.out" "$RAW/py.err" env PYTHONUNBUFFERED=1 python3 "$@" || true
  { echo "## $run"; cat "$RAW/py.out"; grep -v '^\s*$' "$RAW/py.err" | tail -n 5; } >>"$out" 2>/dev/null || true
  rm -f "$RAW/py.out" "$RAW/py.err"
}

# 3. checks at production shapes
if gpu_step_ready checks; then
  path="$(program cuda_production_check)"
  if [[ -z "$path" ]]; then
    record checks cuda_production_check "skipped: not built" 0
  else
    run_timed checks cuda_production_check "$(step_time checks)" "$RAW/checks.txt" "$RAW/checks.err" \
      "$path" --json "$RAW/checks.json" || true
    cat "$RAW/checks.txt"
  fi
fi

# 4. the end-to-end bf16 step, with the per-op breakdown of one extra step; the clocks it ran at
# (sampled every second: the preflight's reading is of an idle card) go to the report
if gpu_step_ready model; then
  nvidia-smi --query-gpu=clocks.current.sm,clocks.current.memory,power.draw,temperature.gpu \
    --format=csv,noheader -lms 1000 >"$RAW/clocks-model.csv" 2>/dev/null &
  sampler=$!
  SUFFIX=.bf16 bench model bench_cuda_model --op_breakdown="$RAW/op_breakdown.jsonl" \
    '--benchmark_filter=^bf16_step/(gpt2_124m_T1024/(16|32)|mobilellm_125m_T1024/16|merino_64m_T1024/16)/'
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
fi

# 5. attention: merino's variants, then cuDNN / Flash SDPA on the same shapes
if gpu_step_ready attention; then
  # shellcheck disable=SC2086  # BENCH_ARGS is a word list on purpose
  bench attention bench_cuda_attention $BENCH_ARGS
fi
if (( HAVE_DEVICE && ! TORCH_OK )); then skip_step sdpa "skipped: no PyTorch with CUDA"
elif gpu_step_ready sdpa; then
  python_run sdpa pytorch_attention.py "$(step_time sdpa)" "$RAW/bench/pytorch_attention.txt" "$ROOT/bench/pytorch_attention.py"
fi

# 6. the GPU tests, each with its share of the cores; the report lists every one of them
ctest --test-dir "$BUILD" -N -L gpu 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: //p' >"$RAW/gpu-tests-listed.txt" || true
if gpu_step_ready tests; then
  limit=$(step_time tests)
  t0=$SECONDS
  say "tests: ctest -L gpu -j $TEST_JOBS, OMP_NUM_THREADS=$TEST_THREADS, at most $limit s"
  set +e
  OMP_NUM_THREADS=$TEST_THREADS OPENBLAS_NUM_THREADS=$TEST_THREADS \
  timeout --kill-after=10 $(( limit + 5 )) ctest --test-dir "$BUILD" -L gpu -j "$TEST_JOBS" --timeout "$TEST_TIMEOUT" \
    --stop-time "$(date -d "@$(( $(date +%s) + limit ))" "+%H:%M:%S %z")" \
    --output-on-failure --no-tests=error --output-junit "$RAW/ctest-gpu.xml" >"$RAW/ctest-gpu.log" 2>&1
  rc=$?
  set -e
  tail -n 25 "$RAW/ctest-gpu.log"
  case $rc in
    0) record tests ctest ok $(( SECONDS - t0 )) ;;
    124|137) record tests ctest "stopped at its budget" $(( SECONDS - t0 )) ;;
    *) record tests ctest "failed (exit $rc)" $(( SECONDS - t0 )) "see ctest-gpu.log" ;;
  esac
fi

# 7. the kernel families, each program an equal share of what the step has left
if gpu_step_ready kernels; then
  progs=(bench_cuda_kernels bench_cuda_matmul bench_cuda_optim bench_cuda_embedding bench_cuda_activation)
  for t in "${REST[@]}"; do [[ $t == bench_cuda_* && " ${progs[*]} " != *" $t "* ]] && progs+=("$t"); done
  for i in "${!progs[@]}"; do
    # shellcheck disable=SC2086
    LIMIT=$(( $(step_time kernels) / (${#progs[@]} - i) )) bench kernels "${progs[$i]}" $BENCH_ARGS
  done
fi

# 8. PyTorch on the model's shapes: eager and torch.compile
if (( HAVE_DEVICE && ! TORCH_OK )); then skip_step pytorch "skipped: no PyTorch with CUDA"
elif gpu_step_ready pytorch; then
  # eager for both models first: torch.compile's first compile takes long and may be stopped
  runs=("gpt2-124m eager" "mobilellm-125m eager" "gpt2-124m compile" "mobilellm-125m compile")
  for i in "${!runs[@]}"; do
    read -r model mode <<<"${runs[$i]}"
    python_run pytorch "$model bf16 $mode" $(( $(step_time pytorch) / (${#runs[@]} - i) )) \
      "$RAW/bench/pytorch_baseline.txt" "$ROOT/bench/pytorch_baseline.py" --model "$model" --dtype bf16 --mode "$mode"
  done
fi

# 9. compute-sanitizer, time-boxed: racecheck and synccheck on one attention forward + backward
# per head-size class, memcheck on the other kernels' tests (filters keep each run short)
SANITIZER="$(command -v compute-sanitizer || true)"
[[ -z "$SANITIZER" && -x "$cuda_root/bin/compute-sanitizer" ]] && SANITIZER="$cuda_root/bin/compute-sanitizer"
if (( HAVE_DEVICE )) && [[ -z "$SANITIZER" ]]; then skip_step sanitizer "skipped: no compute-sanitizer"
elif gpu_step_ready sanitizer; then
  box=$(( $(step_time sanitizer) < 90 ? $(step_time sanitizer) : 90 ))
  box_end=$(( SECONDS + box ))
  runs=("racecheck|cuda_production_check|--sanitize|30"
        "synccheck|cuda_production_check|--sanitize|15"
        "memcheck|test_cuda_norms|--gtest_filter=-*Deterministic*:*Bitwise*|7"
        "memcheck|test_cuda_crossentropy|--gtest_filter=*|4"
        "memcheck|test_cuda_attention|--gtest_filter=*RejectsUnsupportedShapes*:*UnalignedPointers*|11"
        "memcheck|test_cuda_embedding|--gtest_filter=-*Deterministic*|5"
        "memcheck|test_cuda_rope|--gtest_filter=*|4"
        "memcheck|test_cuda_activation|--gtest_filter=*Bf16*|8"
        "memcheck|test_cuda_adamw|--gtest_filter=AdamW.*:AdamWBf16.CopyIsStochasticRoundingOfMaster:NarrowBf16.*|5"
        "memcheck|test_cuda_reduce|--gtest_filter=SumSquares.*|4"
        "memcheck|test_cuda_matmul|--gtest_filter=*ForwardGeluMatchesCpuBf16:*BackwardMatchesCpuBf16|7")
  for r in "${runs[@]}"; do
    IFS='|' read -r tool prog args share <<<"$r"
    path="$(program "$prog")"
    if [[ -z "$path" ]]; then record sanitizer "$tool $prog" "skipped: not built" 0; continue; fi
    # its share of the box (in hundredths of 100), never past the box's end
    limit=$(( box * share / 100 ))
    (( limit > box_end - SECONDS )) && limit=$(( box_end - SECONDS ))
    log="$RAW/sanitizer/$tool-$prog.log"
    rc=0
    run_timed sanitizer "$tool $prog" "$limit" "$log" "$log.err" \
      "$SANITIZER" --tool "$tool" --error-exitcode 99 --print-limit 20 "$path" "$args" || rc=$?
    if (( rc == 99 )); then say "sanitizer: $tool found errors in $prog:"; grep -m 5 '=========' "$log" || true; fi
  done
fi

# 10. fp32 last
if gpu_step_ready fp32; then
  LIMIT=$(( $(step_time fp32) * 2 / 3 )) SUFFIX=.fp32 bench fp32 bench_cuda_model '--benchmark_filter=^fp32_step/'
  if (( TORCH_OK )); then
    python_run fp32 "gpt2-124m fp32" "$(step_time fp32)" "$RAW/bench/pytorch_baseline.txt" \
      "$ROOT/bench/pytorch_baseline.py" --model gpt2-124m --dtype fp32 --mode eager
  fi
fi

# ---- 11. the report ----------------------------------------------------------------------------
record report - ok 0
REPORT_RC=0
write_report || REPORT_RC=$?
(( REPORT_RC <= 1 )) || die "writing the reports failed"
say "reports: $OUT_DIR/gpu-report.md, $OUT_DIR/gpu-report.json, $OUT_DIR/gpu-report-raw.tar.gz (unpacked: $RAW); $SECONDS s of $BUDGET_S"
if (( REPORT_RC == 1 )); then
  say "FAILED: see the failures listed in gpu-report.md"
  exit 1
fi
if (( ! HAVE_DEVICE )); then
  say "WARNING: no CUDA device: every GPU step was skipped, nothing was verified on a GPU"
  [[ "${REQUIRE_GPU:-0}" == 1 ]] && exit 3
  exit 0
fi
say "OK: everything that ran passed"
exit 0
