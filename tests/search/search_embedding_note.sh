#!/usr/bin/env bash
# search_embedding_note.sh MERINO DIR: at 7M parameters the free search (--embed-width 0) narrows
# the first block (the embedding and tied head) to the smallest width it may, and must say so;
# with --embed-width N the width holds, the header says it was fixed, and there is no note.
set -eu
merino=$1 dir=$2
rm -rf "$dir"
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/first_width.sh"
out=$("$merino" search --params 7M --seq-len 128 --iterations 20000 --seed 1 --embed-width 0 \
  --out "$dir/free.yaml")
printf '%s\n' "$out"
[ "$(first_width "$dir/free.yaml")" = 64 ] || fail "the free search's first width is not 64"
grep -q '^note: the first block, whose width is also the embedding' <<<"$out" ||
  fail "no note on the narrowed embedding"
! grep -q 'embedding width .* fixed' "$dir/free.yaml" || fail "--embed-width 0 fixed the width"
out=$("$merino" search --params 7M --seq-len 128 --iterations 20000 --seed 1 --embed-width 128 \
  --out "$dir/fixed.yaml")
printf '%s\n' "$out"
[ "$(first_width "$dir/fixed.yaml")" = 128 ] || fail "--embed-width 128 did not hold"
grep -q '^# executed layers .*embedding width 128 fixed (--embed-width)' "$dir/fixed.yaml" ||
  fail "the header does not say the width was fixed"
grep -q -- '--embed-width 128' "$dir/fixed.yaml" || fail "the recorded command lacks --embed-width"
grep -q '"embed_width":128' "$dir/fixed.search.jsonl" || fail "the log's start line lacks it"
! grep -q '^note: the first block' <<<"$out" || fail "a note although the width was fixed"
echo ok
