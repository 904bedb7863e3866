#!/usr/bin/env bash
# search_then_info.sh MERINO DIR: runs a short search into DIR, then `merino info` on the YAML
# it wrote; passes when info loads it and reports the parameter count the search recorded.
set -eu
merino=$1 dir=$2
rm -rf "$dir"
"$merino" search --params 30M --seq-len 512 --iterations 4000 --seed 1 --out "$dir/m.yaml"
test -s "$dir/m.search.jsonl"
searched=$(sed -n 's/^# parameters \([0-9,]*\) .*/\1/p' "$dir/m.yaml")
info=$("$merino" info "$dir/m.yaml")
printf '%s\n' "$info"
reported=$(printf '%s\n' "$info" | sed -n 's/^parameters: *\([0-9,]*\)$/\1/p')
if [ -z "$searched" ] || [ "$searched" != "$reported" ]; then
  echo "search recorded '$searched' parameters, merino info reports '$reported'"
  exit 1
fi
echo "ok: $searched parameters"
