#!/usr/bin/env bash
# Every kernel file has its own test file (DEVELOPERS.md: CPU reference + CUDA version + test +
# benchmark): kernels/cuda/X.cu is tested by tests/cuda/test_cuda_X.{cpp,cu}. A kernel file that
# shares another's tests is named in SHARED with the file that holds them.
#   tests/check_kernel_tests.sh ROOT
set -euo pipefail
root=${1:?usage: check_kernel_tests.sh ROOT}
# attention_v2.cu: its tests are test_cuda_attention.cpp's, parameterised over both variants
declare -A SHARED=([attention_v2]=attention)
missing=0
for cu in "$root"/kernels/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  tested=${SHARED[$name]:-$name}
  if [ ! -f "$root/tests/cuda/test_cuda_$tested.cpp" ] && [ ! -f "$root/tests/cuda/test_cuda_$tested.cu" ]; then
    echo "kernels/cuda/$name.cu has no tests/cuda/test_cuda_$tested.cpp" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] && echo "every kernels/cuda/*.cu has its test file"
exit "$missing"
