#!/usr/bin/env bash
# `merino export --format hf` then `merino import` gives a checkpoint that `merino eval` scores
# exactly as the original: same tensors, same config, same numbers to the last digit.
# gpt2: a GPT-2-style model on GPT-2 shards; llama2: a MobileLLM-LS-shaped one (RoPE, GQA,
# SwiGLU, repeat: 2, exported as 4 stored layers) on shards of the LLaMA-2 tokenizer.
# Usage: export_import_eval.sh MERINO SHARED_DATA gpt2|llama2
set -euo pipefail
merino="$1"; shared="$2"; family="$3"
# the LLaMA-2 tokenizer is fetched, not committed (docs/DATA.md); merino finds it through its
# data lookup, PTB and the GPT-2 tokenizer are committed (datasets/, the working directory's)
if [[ $family != gpt2 ]]; then
  found=0
  for root in "${MERINO_DATA:-}" "$HOME/.cache/merino" "$shared"; do
    [[ -n $root && -f $root/tokenizers/$family/tokenizer.json ]] && found=1
  done
  ((found)) || { echo "SKIPPED: run \`merino fetch $family\`"; exit 77; }
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
head -c 30000 datasets/ptb/ptb.valid.txt >"$work/text.txt"
"$merino" prepare --input "$work/text.txt" --val-tokens 1000 --out "$work/data" --tokenizer "$family" \
  >/dev/null
if [[ $family == gpt2 ]]; then
  model='{vocab_size: 50257, context_length: 32, norm: layernorm, activation: gelu, position: learned,
          bias: true, tie_embeddings: true, layers: 2, d_model: 16, n_heads: 2, ffn_dim: 32}'
  tokenizer_files="vocab.json merges.txt tokenizer_config.json"
else
  model='{vocab_size: 32000, context_length: 32, norm: rmsnorm, activation: swiglu, position: rope,
          bias: false, tie_embeddings: true, layers: 2, repeat: 2, d_model: 16, n_heads: 4,
          n_kv_heads: 2, ffn_dim: 24}'
  tokenizer_files="tokenizer.json tokenizer_config.json"
fi
cat >"$work/run.yaml" <<YAML
model: $model
data: {dir: $work/data}
run: {dir: $work/run, seed: 3}
batch: {micro_batch: 2, seq_len: 32, grad_accum: 1}
optimizer: {lr: 1.0e-2, beta1: 0.9, beta2: 0.95, eps: 1.0e-8, weight_decay: 0.1, grad_clip: 1.0}
schedule: {kind: constant, warmup_steps: 0}
train: {max_steps: 2, val_every: 2, val_batches: 1, log_every: 1}
checkpoint: {every: 2, keep_last: 1}
YAML
"$merino" train "$work/run.yaml" >/dev/null
"$merino" export "$work/run/latest" --format hf --out "$work/hf" >/dev/null
for f in config.json model.safetensors generation_config.json $tokenizer_files; do
  [[ -s $work/hf/$f ]] || { echo "export wrote no $f"; exit 1; }
done
# the merino format: the checkpoint's own bytes, explained
"$merino" export "$work/run/latest" --format merino --out "$work/own" >/dev/null
cmp "$work/run/latest/model.safetensors" "$work/own/model.safetensors"
cmp "$work/run/latest/config.yaml" "$work/own/config.yaml"
grep -q '^| model.embed_tokens.weight \|^| wte.weight ' "$work/own/FORMAT.md"
"$merino" import "$work/hf" --out "$work/ck" >/dev/null
evaluate() {
  "$merino" eval --checkpoint "$1" --task "text:$work/text.txt" --tokenizer "$family" \
    --json "$2" >/dev/null
  # the scores and counts (the checkpoint's path, name and step differ by design)
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(json.dumps({k: j[k] for k in ("loglikelihood", "metrics", "tokens", "windows", "words", "bytes")}, sort_keys=True))' "$2"
}
original="$(evaluate "$work/run/latest" "$work/a.json")"
imported="$(evaluate "$work/ck" "$work/b.json")"
if [[ $original != "$imported" ]]; then
  echo "eval differs:"; echo "  original: $original"; echo "  imported: $imported"; exit 1
fi
# and the imported checkpoint exports to the same bytes, with the tokenizer import kept in it
"$merino" export "$work/ck" --format hf --out "$work/hf2" >/dev/null
cmp "$work/hf/model.safetensors" "$work/hf2/model.safetensors"
for f in $tokenizer_files; do
  [[ -s $work/hf2/$f ]] || { echo "export of the imported checkpoint wrote no $f"; exit 1; }
done
echo "export -> import -> eval: identical ($original)"
