# Sourced by the trainer's end-to-end test scripts: prepares a small PTB slice, writes the tiny
# training config both use, and defines wait_for. Expects $merino, $datasets and $work, and
# GRAD_ACCUM, MAX_STEPS, CKPT_EVERY (the scripts' own settings).
for f in ptb/ptb.train.txt ptb/ptb.valid.txt tokenizers/gpt2/encoder.json; do
  [ -f "$datasets/$f" ] || { echo "$datasets/$f: missing (it is committed: git checkout -- datasets)"; exit 1; }
done
head -c 60000 "$datasets/ptb/ptb.valid.txt" > "$work/text.txt"
"$merino" prepare --input "$work/text.txt" --out "$work/data" --tokenizer gpt2 --val-tokens 3000 >/dev/null
cat > "$work/cfg.yaml" <<YAML
model:
  vocab_size: 50257
  context_length: 32
  norm: layernorm
  activation: gelu
  position: learned
  bias: true
  tie_embeddings: true
  layers: 2
  d_model: 32
  n_heads: 2
  ffn_dim: 64
data: {dir: $work/data}
run: {dir: $work/unset, seed: 3}
batch: {micro_batch: 4, seq_len: 32, grad_accum: $GRAD_ACCUM}
optimizer: {lr: 3.0e-3, weight_decay: 0.1, grad_clip: 1.0}
schedule: {kind: linear, warmup_steps: 5, min_lr: 3.0e-4}
train: {max_steps: $MAX_STEPS, log_every: 1, val_batches: 2}
checkpoint: {every: $CKPT_EVERY, keep_last: 3}
YAML

wait_for() {  # a file to appear, for up to 120 s
  for _ in $(seq 1200); do [ -e "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1"; exit 1
}
