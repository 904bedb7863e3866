#!/usr/bin/env bash
# fetch_e2e.sh MERINO SHARED_DATA MODE: `merino fetch` as users run it, without the network.
#   mirror    WikiText-2 from a file:// mirror of the shared data: files as the shared data's
#             SHA256SUMS says (checked by coreutils), found by the lookup afterwards; a second
#             fetch downloads nothing (the mirror is gone by then)
#   corrupt   a mirror copy with one byte flipped: exit 2, one line naming the file and the URL,
#             nothing left in the cache
#   offline   a mirror that does not exist: exit 1, one line naming the URL and what to do
#   bad_name  an unknown name: exit 2
set -u
merino=$1 shared=$2 mode=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MERINO_DATA=$work/cache HOME=$work/home MERINO_SHARED_DATA=
fail() { echo "FAIL: $*"; exit 1; }
need_shared() {
  [ -f "$shared/wikitext-2-raw/wiki.test.raw" ] || { echo "SKIPPED: no shared data at $shared to build a mirror from"; exit 77; }
}
one_line() {  # the command's stderr must be one line matching the regex
  [ "$(grep -c . "$work/err")" -eq 1 ] || fail "expected one stderr line: $(cat "$work/err")"
  grep -Eq -- "$1" "$work/err" || fail "stderr '$(cat "$work/err")' does not match '$1'"
}
cache_empty() {
  [ -z "$(find "$MERINO_DATA" -type f 2>/dev/null)" ] || fail "files left in the cache: $(find "$MERINO_DATA" -type f)"
}

case $mode in
mirror)
  need_shared
  mkdir -p "$work/mirror/wikitext-2-raw"
  cp "$shared"/wikitext-2-raw/wiki.{test,valid}.raw "$work/mirror/wikitext-2-raw/"
  "$merino" fetch wikitext2 --mirror "file://$work/mirror" >"$work/out" 2>"$work/err" || fail "fetch: $(cat "$work/err")"
  grep -q "wikitext-2-raw/wiki.test.raw: fetched from file://$work/mirror/wikitext-2-raw/wiki.test.raw" "$work/out" ||
    fail "no 'fetched' line: $(cat "$work/out")"
  (cd "$MERINO_DATA" && grep " wikitext-2-raw/" "$shared/SHA256SUMS" | sha256sum --check --strict) || fail "sha256"
  rm -rf "$work/mirror"
  "$merino" fetch wikitext2 --mirror "file://$work/mirror" >"$work/out" 2>"$work/err" || fail "second fetch: $(cat "$work/err")"
  [ "$(grep -c ": present, sha256 ok" "$work/out")" -eq 2 ] || fail "second fetch downloaded again: $(cat "$work/out")"
  # the lookup finds the fetched file: the missing-file error is gone
  "$merino" eval --checkpoint "$work/no/ckpt" --task wikitext2 2>"$work/err" >/dev/null
  one_line "no/ckpt: no such checkpoint directory"
  ;;
corrupt)
  need_shared
  mkdir -p "$work/mirror/wikitext-2-raw"
  cp "$shared"/wikitext-2-raw/wiki.{test,valid}.raw "$work/mirror/wikitext-2-raw/"
  f=$work/mirror/wikitext-2-raw/wiki.valid.raw
  byte=$(dd if="$f" bs=1 skip=1000 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
  printf "\\$(printf '%03o' $(( byte ^ 1 )))" | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null
  "$merino" fetch wikitext2 --mirror "file://$work/mirror" >/dev/null 2>"$work/err"
  code=$?
  [ $code -eq 2 ] || fail "exit code $code, expected 2: $(cat "$work/err")"
  one_line "^merino: error: wikitext-2-raw/wiki.valid.raw: file://$work/mirror/wikitext-2-raw/wiki.valid.raw has sha256 [0-9a-f]{64}, not the 4cd0f687"
  cache_empty
  ;;
offline)
  "$merino" fetch wikitext2 --mirror "file://$work/no/mirror" >/dev/null 2>"$work/err"
  code=$?
  [ $code -eq 1 ] || fail "exit code $code, expected 1: $(cat "$work/err")"
  one_line "^merino: error: wikitext-2-raw/wiki.test.raw: cannot download file://$work/no/mirror/wikitext-2-raw/wiki.test.raw \(.*\); check the connection, or pass --mirror"
  cache_empty
  ;;
bad_name)
  "$merino" fetch wikitext3 >/dev/null 2>"$work/err"
  code=$?
  [ $code -eq 2 ] || fail "exit code $code, expected 2: $(cat "$work/err")"
  one_line "^merino: error: wikitext3: nothing to fetch by that name \(known: wikitext2, neox, llama2, .*zero-shot\)$"
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "ok: fetch $mode"
