#!/usr/bin/env bash
# search_default_budget.sh MERINO DIR: `merino search --params 64M` with no compute budget must
# say which FLOP budget it assumed (console and YAML header) and hold the embedding at that
# reference shape's width (512), and its model must have at most 48 executed layers, at most 4x
# GPT-2-124M's forward FLOPs per token (as `merino info` counts both) and no shared blocks
# (sharing is the --share flag, not the default). A given --flops leaves the width free.
set -eu
merino=$1 dir=$2
rm -rf "$dir"
out=$("$merino" search --params 64M --iterations 3000 --seed 1 --out "$dir/m.yaml")
printf '%s\n' "$out"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/first_width.sh"
grep -q '^no --flops or --latency-ms: assuming a budget of .* forward FLOPs/token' <<<"$out" ||
  fail "the console does not say which compute budget was assumed"
grep -q '^# forward FLOPs/token .*assumed: a GPT-2-style uniform model' "$dir/m.yaml" ||
  fail "the YAML header does not say which compute budget was assumed"
grep -q -- '--flops [0-9]' "$dir/m.yaml" || fail "the recorded command lacks the assumed --flops"
! grep -q 'share: true' "$dir/m.yaml" || fail "blocks are shared without --share"
grep -q '^embedding and first block width fixed at 512 (--embed-width: the assumed budget' \
  <<<"$out" || fail "the console does not say the embedding width was set from the budget"
grep -q '^# executed layers .*embedding width 512 fixed (--embed-width)' "$dir/m.yaml" ||
  fail "the YAML header does not say the embedding width was fixed"
grep -q -- '--embed-width 512' "$dir/m.yaml" || fail "the recorded command lacks --embed-width"
[ "$(first_width "$dir/m.yaml")" = 512 ] ||
  fail "the first block is not 512 wide"
given=$("$merino" search --params 64M --flops 0.2G --iterations 100 --seed 1 --out "$dir/g.yaml")
! grep -q 'embedding width .* fixed' "$dir/g.yaml" ||
  fail "a search with --flops fixed the embedding width (YAML header)"
! grep -q '^embedding and first block width fixed' <<<"$given" ||
  fail "a search with --flops fixed the embedding width (console)"
flops() { "$merino" info "$1" | sed -n 's/^forward FLOPs\/token: *\([0-9.e+]*\).*/\1/p'; }
layers=$("$merino" info "$dir/m.yaml" | sed -n 's/^executed layers: *\([0-9]*\).*/\1/p')
got=$(flops "$dir/m.yaml") gpt2=$(flops configs/gpt2-124m.yaml)
[ -n "$layers" ] && [ -n "$got" ] && [ -n "$gpt2" ] ||
  fail "cannot read merino info (layers '$layers', FLOPs '$got', GPT-2 '$gpt2')"
[ "$layers" -le 48 ] || fail "$layers executed layers, more than 48"
python3 -c "import sys; sys.exit(0 if $got <= 4 * $gpt2 else 1)" ||
  fail "$got FLOPs/token, more than 4 x GPT-2-124M's $gpt2"
echo "ok: $layers executed layers, $got FLOPs/token (GPT-2-124M: $gpt2)"
