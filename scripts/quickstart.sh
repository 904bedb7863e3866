#!/usr/bin/env bash
# quickstart.sh [TRAIN OPTION...]: from a fresh Debian machine to a trained tiny model, with
# only the committed data (datasets/). Installs what is missing and builds `merino`
# (scripts/install_and_build.sh), tokenizes PTB into data/ptb, trains configs/tiny.yaml into
# runs/tiny (about 7 minutes on 2 CPU cores) and prints its validation loss. Run it again at any
# time: the build is reused, prepare verifies data/ptb and skips it when complete and made from
# the same inputs, and training resumes where it stopped (a finished run stops at once).
# TRAIN OPTION... go to `merino train`, e.g. --set train.max_steps=20.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_and_build.sh merino

# the validation file first: its 92,831 tokens become the held-out split
./build/merino prepare --input datasets/ptb/ptb.valid.txt --input datasets/ptb/ptb.train.txt \
    --val-tokens 92831 --out data/ptb --tokenizer gpt2
./build/merino train configs/tiny.yaml --resume auto "$@"

run_dir=runs/tiny  # configs/tiny.yaml's run.dir
last=$(grep '"val_loss"' "$run_dir/metrics.jsonl" 2>/dev/null | tail -1 || true)
[ -n "$last" ] || { echo "merino: error: $run_dir/metrics.jsonl holds no validation loss" >&2; exit 1; }
step=$(sed 's/.*"step":\([0-9]*\).*/\1/' <<<"$last")
loss=$(sed 's/.*"val_loss":\([0-9.eE+-]*\).*/\1/' <<<"$last")
LC_NUMERIC=C printf 'tiny run: validation loss %.4f at step %s (%s/metrics.jsonl)\n' "$loss" "$step" "$run_dir"
