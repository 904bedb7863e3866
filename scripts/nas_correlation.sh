#!/usr/bin/env bash
# Does the entropy proxy of `merino search` rank architectures the way training does?
#
#   scripts/nas_correlation.sh [MERINO [OUT_DIR]]
#
# Draws random candidates from the search space (docs/NAS.md) with the same parameter budget,
# scores them with `merino search --score`, keeps NAS_CANDIDATES of them spread evenly over the
# range of entropy, trains each with one identical recipe on Penn Treebank (CPU), and reports
# Spearman's rank correlation between the objective and -(final validation loss): a positive
# value means the proxy ranks the candidates as training does (MeRino reports 0.86).
#
# Writes OUT_DIR/results.md (the Markdown table, also printed) and results.json, the candidate
# model YAMLs (candidates/), the training recipe (train.yaml), one run folder per candidate
# (runs/cNN/metrics.jsonl, runs/cNN.log) and the scored pool (pool.jsonl). Re-running with the
# same settings and OUT_DIR skips candidates whose training finished.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/nas_correlation.sh [MERINO [OUT_DIR]]
  MERINO   the merino binary (default ./build/merino)
  OUT_DIR  work and result folder (default runs/nas-correlation)
settings (environment):
  NAS_PARAMS=7000000     parameter budget of every candidate
  NAS_TOLERANCE=0.02     allowed relative distance from the budget
  NAS_MAX_FLOPS=24000000 forward FLOPs/token cap at context 128 (keeps training short)
  NAS_CANDIDATES=8       candidates to train
  NAS_STEPS=300          optimizer steps each (batch 8 x 128 tokens)
  NAS_SEED=1             seed of the candidate draw (training uses run.seed 1)
  PTB_DIR=datasets/ptb                ptb.train.txt and ptb.valid.txt (committed)
  OMP_NUM_THREADS=1                   threads per training run
  NAS_KEEP_CHECKPOINTS=0              1: keep each run's final checkpoint
EOF
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -le 2 ] || { usage >&2; exit 2; }

die() { echo "nas_correlation: error: $*" >&2; exit 1; }

merino=${1:-./build/merino}
out=${2:-runs/nas-correlation}
params=${NAS_PARAMS:-7000000}
tolerance=${NAS_TOLERANCE:-0.02}
max_flops=${NAS_MAX_FLOPS:-24000000}
n_candidates=${NAS_CANDIDATES:-8}
steps=${NAS_STEPS:-300}
seed=${NAS_SEED:-1}
ptb=${PTB_DIR:-datasets/ptb}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
keep=${NAS_KEEP_CHECKPOINTS:-0}

[ -x "$merino" ] || die "merino binary '$merino' not found or not executable (build it, or pass its path)"
command -v python3 >/dev/null || die "python3 is required"
for f in ptb.train.txt ptb.valid.txt; do
  [ -s "$ptb/$f" ] || die "Penn Treebank file '$ptb/$f' is missing (set PTB_DIR)"
done
for v in params max_flops n_candidates steps seed; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "NAS setting $v='${!v}' is not a whole number"
done
[[ $tolerance =~ ^0?\.[0-9]+$ ]] || die "NAS_TOLERANCE='$tolerance' is not a fraction like 0.02"
[ "$n_candidates" -ge 3 ] || die "NAS_CANDIDATES must be at least 3"
search_help=$("$merino" search --help 2>&1 || true)
[[ $search_help == *--score* ]] || die "'$merino' has no 'search --score'; rebuild it from this tree"

mkdir -p "$out"
out=$(cd "$out" && pwd)
merino=$(cd "$(dirname "$merino")" && pwd)/$(basename "$merino")

# The helper for every step that needs more than the shell: drawing the pool, choosing the
# candidates, writing YAML, reading metrics, Spearman's rho. Standard library only.
read -r -d '' PY <<'PYEOF' || true
import json, math, os, random, sys, itertools

VOCAB, CONTEXT = 50257, 128

def ffn_dim(width, halves):  # search/space.h BlockGene::ffn_dim
    return (halves * width // 2 + 4) // 8 * 8

def approx_params(blocks):
    # Only a pre-filter for the draw (search/cost.cpp's count); `merino search --score` gives the
    # exact count that decides.
    e = blocks[0]["d_model"]
    p, prev = VOCAB * e + CONTEXT * e, e
    for b in blocks:
        c, f = b["d_model"], b["ffn_dim"]
        if c != prev:
            p += c * prev + c
        p += 4 * c * c + 2 * f * c + 9 * c + f
        prev = c
    p += 2 * prev
    if prev != e:
        p += e * prev
    return p

def model_yaml(name, blocks, note):
    y = ["# " + note, "model:", '  name: "%s"' % name, "  vocab_size: %d" % VOCAB,
         "  context_length: %d" % CONTEXT, "  norm: layernorm", "  activation: gelu",
         "  position: learned", "  bias: true", "  tie_embeddings: true", "  blocks:"]
    for b in blocks:
        y.append("    - {layers: %d, d_model: %d, n_heads: %d, ffn_dim: %d, share: true}"
                 % (b["layers"], b["d_model"], b["n_heads"], b["ffn_dim"]))
    return "\n".join(y) + "\n"

def draw(rng):
    blocks = []
    for i in range(rng.choice([1, 2, 3])):
        head = rng.choice([32, 64])
        if i == 0:  # the token table is 50257 x this width: it sets most of the budget
            width = rng.choice([w for w in (64, 96, 128) if w % head == 0])
        else:
            width = head * rng.randint(max(1, 64 // head), 512 // head)
        halves = rng.randint(2, 12)
        blocks.append({"layers": rng.randint(1, 12), "d_model": width, "n_heads": width // head,
                       "ffn_dim": ffn_dim(width, halves)})
    return blocks

def cmd_pool(pool_dir, budget, tol, seed, size):
    rng, seen, files = random.Random(seed), set(), []
    budget, tol, size = float(budget), float(tol), int(size)
    for _ in range(3_000_000):
        if len(files) >= size:
            break
        b = draw(rng)
        key = json.dumps(b)
        if key in seen or abs(approx_params(b) - budget) > tol * budget:
            continue
        seen.add(key)
        path = os.path.join(pool_dir, "p%04d.yaml" % len(files))
        with open(path, "w") as f:
            f.write(model_yaml("p%04d" % len(files), b, "pool draw"))
        files.append(path)
    print("\n".join(files))

def shape(blocks):
    return ", ".join("%d x %d/%dh, ffn %.1f" % (b["layers"], b["d_model"], b["n_heads"],
                                              b["ffn_ratio"]) for b in blocks)

def cmd_choose(pool_jsonl, cand_dir, budget, tol, max_flops, n, out_jsonl):
    budget, tol, max_flops, n = float(budget), float(tol), float(max_flops), int(n)
    pool = [json.loads(l) for l in open(pool_jsonl) if l.strip()]
    ok = [p for p in pool if p["effective"] and abs(p["params"] - budget) <= tol * budget
          and p["flops"] <= max_flops]
    if len(ok) < n:
        sys.exit("nas_correlation: error: only %d of %d drawn candidates meet the budget, "
                 "rho0 and the FLOP cap; need %d" % (len(ok), len(pool), n))
    ok.sort(key=lambda p: (p["entropy"], p["file"]))
    picked = [ok[round(i * (len(ok) - 1) / (n - 1))] for i in range(n)]
    with open(out_jsonl, "w") as f:
        for i, p in enumerate(picked):
            name = "c%02d" % (i + 1)
            blocks = [{"layers": b["layers"], "d_model": b["d_model"], "n_heads": b["n_heads"],
                       "ffn_dim": b["ffn_dim"]} for b in p["blocks"]]
            note = "nas_correlation candidate %s: %s (from %s of %d eligible)" % (
                name, shape(p["blocks"]), os.path.basename(p["file"]), len(ok))
            path = os.path.join(cand_dir, name + ".yaml")
            with open(path, "w") as y:
                y.write(model_yaml(name, blocks, note))
            p = dict(p, name=name, file=path, pool_file=p["file"])
            f.write(json.dumps(p) + "\n")
    print("%d of %d drawn candidates eligible; picked %d spread over entropy %.1f to %.1f"
          % (len(ok), len(pool), n, picked[0]["entropy"], picked[-1]["entropy"]))

def final_val_loss(metrics, steps):
    loss = None
    if os.path.exists(metrics):
        for line in open(metrics):
            r = json.loads(line)
            if r.get("step") == int(steps) and "val_loss" in r:
                loss = r["val_loss"]
    return loss

def cmd_names(cands_jsonl):
    print("\n".join(json.loads(l)["name"] for l in open(cands_jsonl) if l.strip()))

def cmd_done(metrics, steps):
    sys.exit(0 if final_val_loss(metrics, steps) is not None else 1)

def ranks(xs):  # average ranks, 1 = smallest
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r, i = [0.0] * len(xs), 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r

def pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va, vb = sum((x - ma) ** 2 for x in a), sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float("nan")

def spearman(a, b):
    return pearson(ranks(a), ranks(b))

def exact_p(a, b):
    # one-sided: the share of the n! orderings of b with a rank correlation >= the observed
    if len(a) > 9:
        return None
    ra, rb, obs = ranks(a), ranks(b), spearman(a, b)
    hits = total = 0
    for perm in itertools.permutations(rb):
        total += 1
        hits += pearson(ra, list(perm)) >= obs - 1e-12
    return hits / total

def cmd_report(cands_jsonl, runs_dir, steps, out_md, out_json, header):
    rows = []
    for line in open(cands_jsonl):
        c = json.loads(line)
        loss = final_val_loss(os.path.join(runs_dir, c["name"], "metrics.jsonl"), steps)
        if loss is None:
            sys.exit("nas_correlation: error: no final val_loss for %s" % c["name"])
        secs = open(os.path.join(runs_dir, c["name"] + ".seconds")).read().strip()
        rows.append(dict(c, val_loss=loss, train_seconds=float(secs)))
    neg = [-r["val_loss"] for r in rows]
    rho_h = spearman([r["entropy"] for r in rows], neg)
    rho_s = spearman([r["score"] for r in rows], neg)
    p_h = exact_p([r["entropy"] for r in rows], neg)
    md = [header, "",
          "| cand. | blocks (layers x d_model/heads, ffn ratio) | executed layers | params "
          "| fwd FLOPs/token | entropy (nats) | score | eff. rho | val loss | val ppl | train s |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append("| %s | %s | %d | %s | %.1fM | %.1f | %.1f | %.3f | %.4f | %.1f | %.0f |" % (
            r["name"], shape(r["blocks"]), sum(b["layers"] for b in r["blocks"]),
            format(r["params"], ","), r["flops"] / 1e6, r["entropy"], r["score"], r["rho"],
            r["val_loss"], math.exp(r["val_loss"]), r["train_seconds"]))
    md += ["", "Spearman rho(entropy, -val loss) = **%.3f** (n = %d%s); "
           "rho(score, -val loss) = %.3f. Training took %.0f s in all." % (
               rho_h, len(rows),
               "" if p_h is None else ", exact one-sided permutation p = %.3f" % p_h, rho_s,
               sum(r["train_seconds"] for r in rows))]
    text = "\n".join(md) + "\n"
    open(out_md, "w").write(text)
    json.dump({"spearman_entropy": rho_h, "spearman_score": rho_s, "p_one_sided": p_h,
               "candidates": rows}, open(out_json, "w"), indent=1)
    print(text, end="")

cmds = {"pool": cmd_pool, "choose": cmd_choose, "names": cmd_names, "done": cmd_done,
        "report": cmd_report}
cmds[sys.argv[1]](*sys.argv[2:])
PYEOF
py() { python3 -c "$PY" "$@"; }

# A different budget or draw in the same OUT_DIR would mix runs: refuse it.
settings="params=$params tolerance=$tolerance max_flops=$max_flops candidates=$n_candidates steps=$steps seed=$seed"
if [ -f "$out/settings.txt" ] && [ "$(cat "$out/settings.txt")" != "$settings" ]; then
  die "$out holds a run with other settings ($(cat "$out/settings.txt")); use another OUT_DIR"
fi
echo "$settings" >"$out/settings.txt"

# 1. Data: PTB with the GPT-2 tokenizer, validation file first (README.md).
data=$out/data/ptb
if ! ls "$data"/train_*.bin "$data"/val_*.bin >/dev/null 2>&1; then
  echo "== preparing Penn Treebank into $data"
  "$merino" prepare --input "$ptb/ptb.valid.txt" --input "$ptb/ptb.train.txt" \
    --val-tokens 92831 --out "$data" --tokenizer gpt2
fi

# 2. Candidates: a pool of random shapes near the budget, scored exactly by merino.
mkdir -p "$out/candidates" "$out/runs"
if [ ! -s "$out/candidates.jsonl" ]; then
  echo "== drawing and scoring candidates (budget $params +- $tolerance, fwd FLOPs <= $max_flops)"
  pool_dir=$(mktemp -d "$out/pool.XXXXXX")
  mapfile -t pool < <(py pool "$pool_dir" "$params" "$tolerance" "$seed" 600)
  [ "${#pool[@]}" -gt 0 ] || die "drew no candidate near the budget"
  "$merino" search --score "${pool[@]}" --device phone-cpu >"$out/pool.jsonl"
  py choose "$out/pool.jsonl" "$out/candidates" "$params" "$tolerance" "$max_flops" \
    "$n_candidates" "$out/candidates.jsonl.tmp"
  mv "$out/candidates.jsonl.tmp" "$out/candidates.jsonl"
  rm -rf "$pool_dir"
fi

# 3. One recipe for all: configs/tiny.yaml's optimizer and schedule, shortened.
cat >"$out/train.yaml" <<EOF
# nas_correlation.sh recipe; each candidate runs with --set model=... --set run.dir=...
model: $out/candidates/c01.yaml
data:
  dir: $data
run:
  dir: $out/runs/c01
  seed: 1
batch:
  micro_batch: 8
  seq_len: 128
  grad_accum: 1
optimizer:
  lr: 2.0e-3
  beta1: 0.9
  beta2: 0.95
  eps: 1.0e-8
  weight_decay: 0.1
  grad_clip: 1.0
schedule:
  kind: linear
  warmup_steps: $((steps / 10))
  min_lr: 2.0e-4
train:
  max_steps: $steps
  val_every: 0
  val_batches: 40
  log_every: 10
checkpoint:
  every: 0
  keep_last: 1
EOF

# 4. Train each candidate (skipping finished ones).
mapfile -t names < <(py names "$out/candidates.jsonl")
[ "${#names[@]}" -eq "$n_candidates" ] || die "$out/candidates.jsonl lists ${#names[@]} candidates"
for name in "${names[@]}"; do
  run=$out/runs/$name
  if py done "$run/metrics.jsonl" "$steps" && [ -s "$run.seconds" ]; then
    echo "== $name: finished earlier, skipped"
    continue
  fi
  rm -rf "$run"
  echo "== training $name ($(sed -n '1s/^# nas_correlation candidate //p' "$out/candidates/$name.yaml"))"
  t0=$(date +%s)
  if ! "$merino" train "$out/train.yaml" --set "model=$out/candidates/$name.yaml" \
      --set "run.dir=$run" >"$run.log" 2>&1; then
    tail -5 "$run.log" >&2
    die "training $name failed; see $run.log"
  fi
  echo $(($(date +%s) - t0)) >"$run.seconds"
  py done "$run/metrics.jsonl" "$steps" || die "$name: no val_loss at step $steps in $run/metrics.jsonl"
  [ "$keep" = 1 ] || rm -rf "$run"/step_* "$run/latest"
  echo "   $(tail -1 "$run/metrics.jsonl"), $(cat "$run.seconds") s"
done

# 5. The table and the rank correlation.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
header="Measured $(date -u +%Y-%m-%d) on ${cpu:-$(uname -m)} ($(nproc --all) cores, \
OMP_NUM_THREADS=$OMP_NUM_THREADS), merino $(git -C "$(dirname "$0")" describe --always --dirty 2>/dev/null || echo '?'): \
\`scripts/nas_correlation.sh ${1:-./build/merino} ${2:-runs/nas-correlation}\` ($settings)."
py report "$out/candidates.jsonl" "$out/runs" "$steps" "$out/results.md" "$out/results.json" "$header"
