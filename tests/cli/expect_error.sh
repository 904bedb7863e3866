#!/usr/bin/env bash
# expect_error.sh EXPECTED_EXIT PATTERN -- COMMAND...
# Passes when COMMAND exits with EXPECTED_EXIT, prints exactly one line on stderr, and that
# line matches the extended regex PATTERN. Used for the CLI's bad-input contract.
set -u
expected=$1 pattern=$2
shift 3
err=$("$@" 2>&1 >/dev/null)
code=$?
lines=$(printf '%s\n' "$err" | grep -c .)
if [ "$code" -ne "$expected" ]; then echo "exit code $code, expected $expected; stderr: $err"; exit 1; fi
if [ "$lines" -ne 1 ]; then echo "expected one stderr line, got $lines: $err"; exit 1; fi
if ! printf '%s' "$err" | grep -Eq -- "$pattern"; then echo "stderr '$err' does not match '$pattern'"; exit 1; fi
echo "ok: $err"
