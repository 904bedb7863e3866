#!/usr/bin/env bash
# install_and_build.sh [TARGET...]: installs the Debian packages merino needs that are missing
# (as root, or through sudo), configures the `default` preset once (CUDA whenever nvcc is
# found; MERINO_CUDA=OFF in the environment leaves it out) and builds TARGET... (default:
# everything). Shared by scripts/quickstart.sh and
# scripts/test.sh; both run it again safely: nothing is installed twice, and the build only
# compiles what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The README's install line lists the same packages: keep the two equal.
packages=(cmake ninja-build g++ pkg-config libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
          libgtest-dev libbenchmark-dev libopenblas-dev libzstd-dev libpcre2-dev libicu-dev
          openmpi-bin libopenmpi-dev curl unzip ca-certificates libboost-context-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "merino: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "merino: error: not root and no sudo; install as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi

# nvcc is often installed outside PATH; CMake finds it through CUDACXX
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
if [ "${MERINO_CUDA:-}" != OFF ] && { command -v nvcc >/dev/null || [ -n "${CUDACXX:-}" ]; }; then
  echo "merino: nvcc found, the CUDA sources are compiled (sm_80, sm_90)"
fi

# configured once; later builds re-run CMake by themselves when a CMakeLists.txt changes
[ -f build/CMakeCache.txt ] || cmake --preset default ${MERINO_CUDA:+-DMERINO_CUDA=$MERINO_CUDA}
if [ $# -gt 0 ]; then
  cmake --build --preset default -j2 --target "$@"
else
  cmake --build --preset default -j2
fi
