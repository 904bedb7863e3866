#!/usr/bin/env bash
# search_then_score.sh MERINO DIR: runs a short search into DIR, then `merino search --score` on
# the YAML it wrote; passes when the score, entropy and parameter count equal what the search
# recorded in the YAML header.
set -eu
merino=$1 dir=$2
rm -rf "$dir"
"$merino" search --params 8M --seq-len 128 --blocks 2 --device phone-cpu --iterations 4000 \
  --seed 3 --out "$dir/m.yaml"
line=$("$merino" search --score "$dir/m.yaml" --device phone-cpu)
printf '%s\n' "$line"
field() { printf '%s\n' "$line" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
header=$(sed -n 's/^# objective subspace: \(.*\)$/\1/p' "$dir/m.yaml")
want_params=$(sed -n 's/^# parameters \([0-9,]*\) .*/\1/p' "$dir/m.yaml" | tr -d ,)
got="score $(printf '%.2f' "$(field score)"), entropy $(printf '%.2f' "$(field entropy)") nats"
case "$header" in
  "$got"*) ;;
  *) echo "search recorded '$header', --score gives '$got'"; exit 1 ;;
esac
if [ "$(field params)" != "$want_params" ]; then
  echo "search recorded $want_params parameters, --score gives $(field params)"
  exit 1
fi
echo "ok: $got, $want_params parameters"
