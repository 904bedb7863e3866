#!/usr/bin/env bash
# Compiles kernels/cuda/attention_v2.cu for sm_80 and sm_90 once, with `ptxas -v`, and fails when
# any v2 attention kernel spills registers (any non-zero "bytes spill stores" or "bytes spill
# loads"): a spill turns the register-resident S / P / accumulator tiles into local-memory
# traffic. Prints registers, spills and shared memory per kernel, head size and architecture.
# Usage: scripts/check-ptxas.sh [nvcc] [source root]   (CTest `ptxas_attention_v2`, label ptxas)
# Exit: 0 no spills, 1 spills (or no v2 kernel found), 2 bad usage / compile error.
set -euo pipefail
NVCC=${1:-nvcc}
ROOT=${2:-$(cd "$(dirname "$0")/.." && pwd)}
SRC="$ROOT/kernels/cuda/attention_v2.cu"
[[ -f $SRC ]] || { echo "check-ptxas.sh: $SRC: no such file" >&2; exit 2; }
command -v "$NVCC" >/dev/null || { echo "check-ptxas.sh: $NVCC: nvcc not found" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if ! "$NVCC" -std=c++17 -O3 -I"$ROOT" -gencode arch=compute_80,code=sm_80 \
    -gencode arch=compute_90,code=sm_90 -Xptxas -v -c "$SRC" -o "$OUT/a.o" >"$OUT/log" 2>&1; then
  cat "$OUT/log" >&2
  echo "check-ptxas.sh: $SRC: nvcc failed" >&2
  exit 2
fi
# ptxas prints per entry: "Compiling entry function '<mangled>' for 'sm_XY'", then
# "N bytes stack frame, S bytes spill stores, L bytes spill loads", then
# "Used R registers, ... M bytes smem ..." (static shared memory only; the kernels' tiles are
# dynamic, see docs/CUDA.md).
awk '
  /Compiling entry function/ {
    name = $0; sub(/.*function .?_Z/, "", name); sub(/.? for .*/, "", name)
    arch = $0; sub(/.*for .?/, "", arch); sub(/.?$/, "", arch)
    v2 = match(name, /[a-z_]+_v2_kernel/); kernel = v2 ? substr(name, RSTART, RLENGTH) : ""
    if (match(name, /v2_kernelILi[0-9]+/)) hd = substr(name, RSTART + 12, RLENGTH - 12); else hd = "-"
  }
  /bytes spill stores/ && v2 {
    stores = $5; loads = $9
    if (stores + 0 > 0 || loads + 0 > 0) bad = 1
  }
  /Used [0-9]+ registers/ && v2 {
    regs = $0; sub(/.*Used /, "", regs); sub(/ registers.*/, "", regs)
    printf "%-6s %-22s hd %-4s registers %3d  spill stores %s loads %s\n", arch, kernel, hd, regs, stores, loads
    n++; v2 = 0
  }
  END {
    if (n == 0) { print "check-ptxas.sh: no v2 kernel in the ptxas output"; exit 1 }
    if (bad) { print "check-ptxas.sh: FAILED: a v2 attention kernel spills registers"; exit 1 }
    print "check-ptxas.sh: " n " v2 kernel instances, no spills"
  }' "$OUT/log"
