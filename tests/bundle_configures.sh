#!/usr/bin/env bash
# The GPU machines' build path, checked here: scripts/pack-gpu-deps.sh packs a bundle, a build
# configured against it (MERINO_DEPS_DIR, no CUDA so it stays quick) compiles and links the
# `merino` binary and the CPU kernel tests, no library from the system's -dev packages is on
# any link line, and the bundled shared data (MERINO_SHARED_DATA) prepares PTB with the GPT-2
# tokenizer. Run by CTest as build.gpu_bundle.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/scripts/pack-gpu-deps.sh" "$work/deps"
cmake -S "$root" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMERINO_CUDA=OFF \
  -DMERINO_MPI=OFF -DMERINO_BUILD_BENCH=OFF -DMERINO_DEPS_DIR="$work/deps" -DMERINO_SHARED_DATA="$work/deps/shared" \
  -DCMAKE_DISABLE_FIND_PACKAGE_ICU=ON >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
grep -q "dependencies from the bundle" "$work/configure.log"
cmake --build "$work/build" -j 2 --target merino test_cpu_kernels >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log"; exit 1; }
system=$(grep -oE '/usr/lib/x86_64-linux-gnu/(openblas[^/]*/)?lib(yaml-cpp|zstd|pcre2-8|gtest|gtest_main|benchmark|openblas)[^ ]*' \
         "$work/build/build.ninja" | sort -u || true)
if [ -n "$system" ]; then echo "linked from the system instead of the bundle: $system"; exit 1; fi
"$work/build/merino" info "$root/configs/gpt2-124m.yaml" | grep -E "parameters: +124,439,808"
OMP_NUM_THREADS=1 "$work/build/tests/kernels/test_cpu_kernels" --gtest_filter='*atmul*' | tail -n 1
# the bundled shared data: its PTB through its GPT-2 tokenizer (--data-dir: the first data root)
"$work/build/merino" prepare --input "$work/deps/shared/ptb/ptb.valid.txt" --data-dir "$work/deps/shared" \
  --out "$work/ptb" --tokenizer gpt2 --val-tokens 10000 | grep -E "val: 1 shards, 10,000 tokens"
echo "ok: gpu bundle builds"
