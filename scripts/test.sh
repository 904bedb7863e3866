#!/usr/bin/env bash
# test.sh [CTEST OPTION...]: from a fresh Debian machine to the whole test suite. Installs what
# is missing and builds everything (scripts/install_and_build.sh), then runs `ctest --preset
# default`. Run again, it only rebuilds what changed. .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_and_build.sh
ctest --preset default "$@"
