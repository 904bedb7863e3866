#!/usr/bin/env bash
# Run in datasets/: every committed data file has a sha256 line in SHA256SUMS and a row in
# SOURCES.md, so nothing lands in the repository without its source and license.
set -u
status=0
while IFS= read -r f; do
  case "$f" in SOURCES.md|SHA256SUMS|fetch.json) continue ;; esac
  grep -q "  $f\$" SHA256SUMS || { echo "$f: not in datasets/SHA256SUMS"; status=1; }
  grep -q "^| $f |" SOURCES.md || { echo "$f: no row in datasets/SOURCES.md"; status=1; }
done < <(find . -type f | sed 's|^\./||' | sort)
[ $status -eq 0 ] && echo "ok: $(grep -c . SHA256SUMS) files listed with sha256 and source"
exit $status
