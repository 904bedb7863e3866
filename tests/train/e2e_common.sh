# Sourced by the trainer's end-to-end test scripts: prepares a small PTB slice, writes the tiny
# training config both use, and defines wait_for, compare_losses and stopped_at_checkpoint. Expects $merino, $datasets and $work, and
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

# compare_losses A B TOL [STEPS]: two metrics.jsonl files log the same steps (with STEPS: each of
# 1..STEPS once) and their training losses agree within TOL relative (0: identical)
compare_losses() {
  python3 - "$@" <<'PY'
import json, sys
def losses(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            assert r["step"] not in out, f"{path}: step {r['step']} logged twice"
            out[r["step"]] = r["loss"]
    return out
a, b, tol = losses(sys.argv[1]), losses(sys.argv[2]), float(sys.argv[3])
assert sorted(a) == sorted(b) and len(a) > 0, (sorted(a), sorted(b))
if len(sys.argv) > 4:
    assert sorted(a) == list(range(1, int(sys.argv[4]) + 1)), sorted(a)
worst = max(abs(a[s] - b[s]) / abs(a[s]) for s in a)
print(f"{len(a)} steps, largest relative loss difference {worst:.3g} (allowed {tol:g})")
assert worst <= tol, [(s, a[s], b[s]) for s in a if abs(a[s] - b[s]) > tol * abs(a[s])]
PY
}

# stopped_at_checkpoint RUN_DIR: a run stopped by a signal checkpointed the last step it logged
stopped_at_checkpoint() {
  local step last
  step=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['step'])" "$1/latest/state.json")
  last=$(python3 -c "import json,sys;print(max(json.loads(l)['step'] for l in open(sys.argv[1])))" \
    "$1/metrics.jsonl")
  echo "checkpoint step $step, last logged step $last"
  [ "$step" = "$last" ]
}
