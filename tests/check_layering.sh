#!/usr/bin/env bash
# Layers are one-way: base/ (the ground floor) includes nothing of ours but base/, and nothing
# under the lower layers (base/, data/, kernels/, model/) may include from the layers above them
# (train/, eval/, search/, interop/, generate/, cli/). Prints every offending include.
# --self-test: checks that a planted upward include is caught, in model/ and in base/.
set -euo pipefail
if [[ ${1:-} == --self-test ]]; then
  for planted in 'model/planted.cpp:#include "train/trainer.h"' 'base/planted.h:#include "data/shard.h"'; do
    tree="$(mktemp -d)"
    mkdir -p "$tree/${planted%%/*}" && echo "${planted#*:}" >"$tree/${planted%%:*}"
    if "$0" "$tree" >/dev/null; then
      rm -rf "$tree"
      echo "layering: the planted include in ${planted%%:*} was not caught"
      exit 1
    fi
    rm -rf "$tree"
  done
  echo "layering: the planted includes were caught"
  exit 0
fi
cd "${1:-$(dirname "$0")/..}"
include='^[[:space:]]*#[[:space:]]*include[[:space:]]*"'
sources=(--include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh')
lower=()
for d in base data kernels model; do [[ -d $d ]] && lower+=("$d"); done
offending="$(
  grep -rnE "$include(train|eval|search|interop|generate|cli)/" "${sources[@]}" "${lower[@]}" || true
  # base/: any project folder but base/ itself (system and library headers use <...>)
  if [[ -d base ]]; then
    grep -rnE "$include[a-z_]+/" "${sources[@]}" base |
      grep -vE ':[[:space:]]*#[[:space:]]*include[[:space:]]*"base/' || true
  fi
)"
if [[ -n $offending ]]; then
  echo "layering: these files include from a layer above theirs:"
  echo "$offending"
  exit 1
fi
echo "layering: base/ includes only base/; ${lower[*]} include nothing from train/, eval/, search/, interop/, generate/ or cli/"
