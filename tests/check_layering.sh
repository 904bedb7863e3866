#!/usr/bin/env bash
# Layers are one-way: nothing under the ground floors (base/, data/, kernels/, model/) may include
# from the layers above them (train/, eval/, search/, interop/, generate/, cli/). Prints every offending include.
# --self-test: checks that a planted upward include is caught.
set -euo pipefail
if [[ ${1:-} == --self-test ]]; then
  tree="$(mktemp -d)"; trap 'rm -rf "$tree"' EXIT
  mkdir -p "$tree/model" && echo '#include "train/trainer.h"' >"$tree/model/planted.cpp"
  if "$0" "$tree" >/dev/null; then echo "layering: the planted include was not caught"; exit 1; fi
  echo "layering: the planted include was caught"; exit 0
fi
cd "${1:-$(dirname "$0")/..}"
lower=()
for d in base data kernels model; do [[ -d $d ]] && lower+=("$d"); done
offending="$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(train|eval|search|interop|generate|cli)/' \
  --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' "${lower[@]}" || true)"
if [[ -n $offending ]]; then
  echo "layering: these files include from a layer above theirs:"
  echo "$offending"
  exit 1
fi
echo "layering: ${lower[*]} include nothing from train/, eval/, search/, interop/, generate/ or cli/"
