#!/usr/bin/env bash
# Packs what merino compiles and links against (Debian 12's headers and static libraries, plus
# Google Benchmark's one shared library), and the data files the GPU tests read (the GPT-2
# tokenizer and PTB's train and valid text, checked against SHA256SUMS), into gpu-deps/ (about
# 26 MB), so that a GPU machine that has only the CUDA toolkit, CMake and ninja -- none of our
# Debian packages -- can build and test merino:
#
#   here:   scripts/pack-gpu-deps.sh                  # writes gpu-deps/ (git-ignored)
#   there:  cmake --preset gpu-bundle && cmake --build --preset gpu-bundle
#           (scripts/gpu-check.sh does this by itself when gpu-deps/ is present)
#
# The device tool carries it with carry: ["gpu-deps"] (64 MiB at most), so OpenBLAS's static
# library (58 MB) travels gzipped (10 MB) and cmake/BundledDeps.cmake unpacks it into the build
# directory. It has to be OpenBLAS: the GPU tests' CPU twins train configs/tiny.yaml for 100 steps,
# and the reference BLAS multiplies 28 times slower. MPI and ICU are left out (one GPU; NFC
# tokenizers are not needed to test kernels). Usage: [SHARED=DIR] scripts/pack-gpu-deps.sh [OUT_DIR]
# (SHARED: a data root holding those files and their SHA256SUMS, default the committed datasets/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/gpu-deps}
shared=${SHARED:-$root/datasets}
data_files=(tokenizers/gpt2/encoder.json tokenizers/gpt2/vocab.bpe ptb/ptb.train.txt ptb/ptb.valid.txt)
inc=/usr/include
lib=/usr/lib/x86_64-linux-gnu
need() {  # PATH [HINT]
  local hint="${2:-install the packages README.md lists}"
  [ -e "$1" ] || { echo "pack-gpu-deps: $1 is missing ($hint)" >&2; exit 2; }
}
blas_inc=$(pkg-config --variable=includedir openblas 2>/dev/null) || need "openblas.pc (pkg-config)"
blas_lib=$(pkg-config --variable=libdir openblas)
for f in "$inc/yaml-cpp" "$inc/nlohmann" "$inc/CLI" "$inc/gtest" "$inc/benchmark" "$inc/zstd.h" \
         "$inc/pcre2.h" "$blas_inc/cblas.h" "$blas_inc/openblas_config.h" "$lib/libyaml-cpp.a" \
         "$lib/libzstd.a" "$lib/libpcre2-8.a" "$lib/libgtest.a" "$lib/libgtest_main.a" \
         "$blas_lib/libopenblas.a" "$lib/libbenchmark.so.1debian"; do
  need "$f"
done
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/include" "$tmp/lib"
cp -r "$inc/yaml-cpp" "$inc/nlohmann" "$inc/CLI" "$inc/gtest" "$inc/benchmark" "$tmp/include/"
cp "$inc/zstd.h" "$inc/zdict.h" "$inc/zstd_errors.h" "$inc/pcre2.h" "$tmp/include/"
cp "$blas_inc/cblas.h" "$blas_inc/openblas_config.h" "$tmp/include/"
cp "$lib/libyaml-cpp.a" "$lib/libzstd.a" "$lib/libpcre2-8.a" "$lib/libgtest.a" "$lib/libgtest_main.a" "$tmp/lib/"
tar -chzf "$tmp/lib/libopenblas.tar.gz" -C "$blas_lib" libopenblas.a  # -h: the file, not the link
cp -L "$lib/libbenchmark.so.1debian" "$tmp/lib/"
# the shared data's own checksums, so that a damaged copy fails here and not as a GPU test
need "$shared/SHA256SUMS" "set SHARED to the shared data folder"
for f in "${data_files[@]}"; do
  sum=$(grep -E "  $f\$" "$shared/SHA256SUMS" | cut -d' ' -f1) || need "$f in $shared/SHA256SUMS" "a line for it"
  mkdir -p "$tmp/shared/$(dirname "$f")"
  cp "$shared/$f" "$tmp/shared/$f"
  echo "$sum  $tmp/shared/$f" | sha256sum -c --quiet - ||
    { echo "pack-gpu-deps: $shared/$f does not match its SHA256SUMS line" >&2; exit 2; }
done
{
  echo "# packed by scripts/pack-gpu-deps.sh on $(date -u +%F) from:"
  dpkg-query -W -f='${Package} ${Version}\n' libyaml-cpp-dev nlohmann-json3-dev libcli11-dev \
    libgtest-dev libbenchmark-dev libzstd-dev libpcre2-dev libopenblas-dev 2>/dev/null || true
} > "$tmp/MANIFEST"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out ($(du -sh "$out" | cut -f1))"
