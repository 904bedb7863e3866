#!/usr/bin/env bash
# `merino generate` on a checkpoint trained here for a few steps (GPT-2 shape, PTB text, the
# GPT-2 tokenizer the run's manifest names): text streamed to stdout, the speed on stderr, the
# same seed twice gives the same text, greedy twice the same text, a prompt longer than the
# context is cut with a warning.
# Usage: generate_e2e.sh MERINO
set -euo pipefail
merino="$1"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
head -c 30000 datasets/ptb/ptb.valid.txt >"$work/text.txt"
"$merino" prepare --input "$work/text.txt" --val-tokens 1000 --out "$work/data" --tokenizer gpt2 >/dev/null
cat >"$work/run.yaml" <<YAML
model: {vocab_size: 50257, context_length: 32, norm: layernorm, activation: gelu, position: learned,
        bias: true, tie_embeddings: true, layers: 2, d_model: 16, n_heads: 2, ffn_dim: 32}
data: {dir: $work/data}
run: {dir: $work/run, seed: 3}
batch: {micro_batch: 2, seq_len: 32, grad_accum: 1}
optimizer: {lr: 1.0e-2, beta1: 0.9, beta2: 0.95, eps: 1.0e-8, weight_decay: 0.1, grad_clip: 1.0}
schedule: {kind: constant, warmup_steps: 0}
train: {max_steps: 4, val_every: 4, val_batches: 1, log_every: 2}
checkpoint: {every: 4, keep_last: 1}
YAML
"$merino" train "$work/run.yaml" >/dev/null
gen() { "$merino" generate --checkpoint "$work/run/latest" --prompt "The" --max-new-tokens 20 "$@"; }
gen --seed 1 >"$work/a.txt" 2>"$work/a.err"
gen --seed 1 >"$work/b.txt" 2>/dev/null
gen --seed 2 >"$work/c.txt" 2>/dev/null
cmp "$work/a.txt" "$work/b.txt" || { echo "the same seed gave different text"; exit 1; }
cmp -s "$work/a.txt" "$work/c.txt" && { echo "seeds 1 and 2 gave the same text"; exit 1; }
[[ $(head -c 3 "$work/a.txt") == The ]] || { echo "the text does not start with the prompt"; exit 1; }
(( $(wc -c <"$work/a.txt") > 4 )) || { echo "no text generated"; exit 1; }
grep -Eq '^generated [0-9]+ tokens .*[0-9.]+ tokens/s' "$work/a.err" || { echo "no speed on stderr"; cat "$work/a.err"; exit 1; }
gen --temperature 0 >"$work/g1.txt" 2>/dev/null
gen --temperature 0 --seed 9 >"$work/g2.txt" 2>/dev/null
cmp "$work/g1.txt" "$work/g2.txt" || { echo "greedy depends on the seed"; exit 1; }
long="$(printf 'the market %.0s' {1..40})"
"$merino" generate --checkpoint "$work/run/latest" --prompt "$long" --max-new-tokens 2 \
  >/dev/null 2>"$work/long.err"
grep -q 'keeping its last 31' "$work/long.err" || { echo "long prompt: no warning"; cat "$work/long.err"; exit 1; }
echo "generate: $(head -c 60 "$work/a.txt" | tr '\n' ' ')... ($(cat "$work/a.err"))"
