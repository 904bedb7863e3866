#!/usr/bin/env bash
# Does the entropy proxy of `merino search` rank architectures the way training does, and does
# the search's winner beat hand-designed shapes at the same budget? (docs/NAS.md)
#
#   scripts/nas_correlation.sh [MERINO [OUT_DIR]]                       the correlation study
#   NAS_MODE=designed scripts/nas_correlation.sh [MERINO [OUT_DIR]]     searched vs designed
#
# Correlation: draws random candidates from the search space at one parameter budget (single-
# and multi-width, with and without shared blocks), scores them with `merino search --score`
# with and without the width-projection terms (--projection-weight 1 and 0: the objective after
# and before they were counted), keeps NAS_CANDIDATES spread over the four kinds and over
# entropy, trains each with one recipe on Penn Treebank (CPU), a few of them with a second
# seed, and reports Spearman and Kendall correlations between each proxy and -(final validation
# loss) with Fisher and bootstrap 95% intervals and a permutation p-value.
#
# Designed: at each budget in NAS_DESIGNED_BUDGETS, the free search's winner (`merino search
# --params B --seq-len 128 --embed-width 0`, with the default FLOP budget that rule derives), the
# GPT-2-style uniform shape that default comes from, a MobileLLM-style deep and thin shape at the
# same parameter and FLOP budgets, and the search's winner with its embedding width held at the
# uniform shape's (anchored: what `merino search` does by default since this study); each
# trained with the same recipe, tokens and seeds.
#
# Interim: NAS_REPORT_ONLY=1 trains nothing and writes the tables from the runs finished so
# far, marked interim (the seed-1 runs go in an order spread over entropy, so an interim table
# covers the range).
#
# Resumable: runs save a checkpoint every NAS_CHECKPOINT_EVERY steps and restart from it with
# `--resume auto`; finished runs are skipped. Stop it with SIGTERM (the current step finishes
# and is saved) and run the same command again. Outputs under OUT_DIR: results.md (also
# printed) and results.json, candidates/ (model YAMLs), train.yaml (the recipe), runs/NAME-sS/
# (metrics.jsonl), runs/NAME-sS.log, pool.jsonl and pool-before.jsonl (the scored draw).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/nas_correlation.sh [MERINO [OUT_DIR]]
  MERINO   the merino binary (default ./build/merino)
  OUT_DIR  work and result folder (default runs/nas-correlation, or runs/nas-designed)
settings (environment):
  NAS_MODE=correlation   correlation | designed
  NAS_PARAMS=7000000     correlation: parameter budget of every candidate
  NAS_TOLERANCE=0.02     correlation: allowed relative distance from the budget
  NAS_MAX_FLOPS=24000000 correlation: forward FLOPs/token cap at context 128
  NAS_CANDIDATES=12      correlation: candidates to train (at least 3)
  NAS_EXTRA_SEEDS=3      correlation: candidates also trained with seed 2 (noise)
  NAS_SEED=1             correlation: seed of the candidate draw
  NAS_DESIGNED_BUDGETS="7000000 14000000"  designed: parameter budgets
  NAS_DESIGNED_SEEDS="1 2"                 designed: training seeds
  NAS_STEPS=1500         optimizer steps per run (batch 8 x 128 tokens)
  NAS_LR=2.0e-3          peak learning rate (linear decay to a tenth of it)
  NAS_ONLY=              names of the runs to train, e.g. "c01 c06 c12" (all when empty)
  NAS_VAL_BATCHES=40     validation batches at the last step
  NAS_CHECKPOINT_EVERY=250  steps between checkpoints (resume points)
  PTB_DIR=datasets/ptb         ptb.train.txt and ptb.valid.txt (committed)
  OMP_NUM_THREADS=1            threads per training run
  NAS_KEEP_CHECKPOINTS=0       1: keep each finished run's checkpoint
  NAS_REPORT_ONLY=0            1: train nothing, report the finished runs (interim)
EOF
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -le 2 ] || { usage >&2; exit 2; }

die() { echo "nas_correlation: error: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
mode=${NAS_MODE:-correlation}
merino=${1:-./build/merino}
case "$mode" in
  correlation) out=${2:-runs/nas-correlation} ;;
  designed) out=${2:-runs/nas-designed} ;;
  *) die "NAS_MODE='$mode' is neither correlation nor designed" ;;
esac
params=${NAS_PARAMS:-7000000}
tolerance=${NAS_TOLERANCE:-0.02}
max_flops=${NAS_MAX_FLOPS:-24000000}
n_candidates=${NAS_CANDIDATES:-12}
extra_seeds=${NAS_EXTRA_SEEDS:-3}
seed=${NAS_SEED:-1}
designed_budgets=${NAS_DESIGNED_BUDGETS:-7000000 14000000}
designed_seeds=${NAS_DESIGNED_SEEDS:-1 2}
steps=${NAS_STEPS:-1500}
val_batches=${NAS_VAL_BATCHES:-40}
ckpt_every=${NAS_CHECKPOINT_EVERY:-250}
ptb=${PTB_DIR:-datasets/ptb}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
keep=${NAS_KEEP_CHECKPOINTS:-0}
report_only=${NAS_REPORT_ONLY:-0}
lr=${NAS_LR:-2.0e-3}
only=${NAS_ONLY:-}
context=128
designed_shapes="searched uniform mobile anchored"
micro_batch=8

[ -x "$merino" ] ||
  die "merino binary '$merino' not found or not executable (build it, or pass its path)"
command -v python3 >/dev/null || die "python3 is required"
for f in ptb.train.txt ptb.valid.txt; do
  [ -s "$ptb/$f" ] || die "Penn Treebank file '$ptb/$f' is missing (set PTB_DIR)"
done
for v in params max_flops n_candidates extra_seeds steps seed val_batches ckpt_every; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "NAS setting $v='${!v}' is not a whole number"
done
for v in $designed_budgets $designed_seeds; do
  [[ $v =~ ^[0-9]+$ ]] ||
    die "NAS_DESIGNED_BUDGETS / NAS_DESIGNED_SEEDS: '$v' is not a whole number"
done
[[ $tolerance =~ ^0?\.[0-9]+$ ]] || die "NAS_TOLERANCE='$tolerance' is not a fraction like 0.02"
[ "$n_candidates" -ge 3 ] || die "NAS_CANDIDATES must be at least 3"
[[ $report_only =~ ^[01]$ ]] || die "NAS_REPORT_ONLY='$report_only' is neither 0 nor 1"
[[ $lr =~ ^[0-9]*\.?[0-9]+(e-?[0-9]+)?$ ]] && awk -v x="$lr" 'BEGIN { exit !(x > 0 && x < 1) }' ||
  die "NAS_LR='$lr' is not a learning rate between 0 and 1 (like 6e-4)"
if [ "$lr" = 2.0e-3 ]; then min_lr=2.0e-4; else min_lr=$(awk -v x="$lr" 'BEGIN { printf "%.6g", x / 10 }'); fi
search_help=$("$merino" search --help 2>&1 || true)
[[ $search_help == *--projection-weight* ]] ||
  die "'$merino' has no 'search --projection-weight'; rebuild it from this tree"
[[ $mode == correlation || $search_help == *--embed-width* ]] ||
  die "'$merino' has no 'search --embed-width'; rebuild it from this tree"

if [ "$report_only" = 1 ] && [ ! -s "$out/runs.txt" ]; then
  die "NAS_REPORT_ONLY=1: '$out' holds no started study (give its OUT_DIR)"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
merino=$(cd "$(dirname "$merino")" && pwd)/$(basename "$merino")
py() { python3 "$here/nas_study.py" "$@"; }

# A different budget or draw in the same OUT_DIR would mix runs: refuse it.
if [ "$mode" = correlation ]; then
  settings="mode=correlation params=$params tolerance=$tolerance max_flops=$max_flops \
candidates=$n_candidates extra_seeds=$extra_seeds steps=$steps val_batches=$val_batches seed=$seed"
else
  settings="mode=designed budgets=$designed_budgets seeds=$designed_seeds steps=$steps \
val_batches=$val_batches"
fi
# (written only when set, so the folders of studies begun before these settings still match)
[ "$lr" = 2.0e-3 ] || settings+=" lr=$lr"
[ -z "$only" ] || settings+=" only=$only"
if [ -f "$out/settings.txt" ] && [ "$(cat "$out/settings.txt")" != "$settings" ]; then
  die "$out holds a run with other settings ($(cat "$out/settings.txt")); use another OUT_DIR"
fi
echo "$settings" >"$out/settings.txt"

# 1. Data: PTB with the GPT-2 tokenizer, validation file first (README.md).
data=$out/data/ptb
if [ "$report_only" = 0 ] && ! ls "$data"/train_*.bin "$data"/val_*.bin >/dev/null 2>&1; then
  echo "== preparing Penn Treebank into $data"
  "$merino" prepare --input "$ptb/ptb.valid.txt" --input "$ptb/ptb.train.txt" \
    --val-tokens 92831 --out "$data" --tokenizer gpt2
fi

# 2. One recipe for every run: configs/tiny.yaml's optimizer and schedule.
mkdir -p "$out/runs"
cat >"$out/train.yaml" <<EOF
# nas_correlation.sh recipe; each run sets model, run.dir and run.seed with --set
model: $here/../configs/tiny.yaml
data:
  dir: $data
run:
  dir: $out/runs/unset
  seed: 1
batch:
  micro_batch: $micro_batch
  seq_len: $context
  grad_accum: 1
optimizer:
  lr: $lr
  beta1: 0.9
  beta2: 0.95
  eps: 1.0e-8
  weight_decay: 0.1
  grad_clip: 1.0
schedule:
  kind: linear
  warmup_steps: $((steps / 10))
  min_lr: $min_lr
train:
  max_steps: $steps
  val_every: 0
  val_batches: $val_batches
  log_every: 10
checkpoint:
  every: $ckpt_every
  keep_last: 1
EOF

# train_run NAME YAML SEED: trains into runs/NAME-sSEED, resuming from its last checkpoint;
# a finished run is skipped. Wall seconds of each attempt are appended to runs/NAME-sSEED.seconds.
train_run() {
  local name=$1 yaml=$2 run_seed=$3
  local run=$out/runs/$1-s$3
  if py done "$run/metrics.jsonl" "$steps" && [ -s "$run.seconds" ]; then
    echo "== $name seed $run_seed: finished earlier, skipped"
    return
  fi
  [ "$report_only" = 0 ] || return 0
  if [ -e "$run/latest" ]; then
    echo "== $name seed $run_seed: resuming from its last checkpoint"
  else
    rm -rf "$run" "$run.seconds"  # no checkpoint: nothing to keep
    echo "== training $name seed $run_seed ($(sed -n '1s/^# //p' "$yaml"))"
  fi
  local t0
  t0=$(date +%s)
  if ! "$merino" train "$out/train.yaml" --set "model=$yaml" --set "run.dir=$run" \
      --set "run.seed=$run_seed" --resume auto </dev/null >>"$run.log" 2>&1; then
    tail -5 "$run.log" >&2
    die "training $name seed $run_seed failed or stopped; see $run.log (run again to resume)"
  fi
  echo $(($(date +%s) - t0)) >>"$run.seconds"
  py done "$run/metrics.jsonl" "$steps" ||
    die "$name seed $run_seed: stopped before step $steps (run again to resume)"
  [ "$keep" = 1 ] || rm -rf "$run"/step_* "$run/latest"
  echo "   $(tail -1 "$run/metrics.jsonl")"
}

# only_runs FILE: keeps the lines of a run list whose name NAS_ONLY names (all when unset).
only_runs() {
  [ -n "$only" ] || return 0
  local name
  for name in $only; do
    grep -q "^$name " "$1" || die "NAS_ONLY: no run named '$name' (see $1)"
  done
  awk -v only=" $only " 'index(only, " " $1 " ")' "$1" >"$1.only" && mv "$1.only" "$1"
}

# What counting alone reaches on the same validation targets, the scale the losses are read at.
ngram_reference() {
  { echo; py ngram "$data" "$context" "$micro_batch" "$val_batches"; } | tee -a "$out/results.md"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
version=$(git -C "$here" describe --always --dirty 2>/dev/null || echo '?')
header="Measured $(date -u +%Y-%m-%d) on ${cpu:-$(uname -m)} ($(nproc --all) cores, \
OMP_NUM_THREADS=$OMP_NUM_THREADS), merino $version: \
\`NAS_MODE=$mode scripts/nas_correlation.sh ${1:-./build/merino} ${2:-}\` ($settings)."

if [ "$mode" = correlation ]; then
  # 3. Candidates: a pool of random shapes near the budget, scored exactly by merino, with
  # and without the width-projection terms.
  mkdir -p "$out/candidates"
  if [ ! -s "$out/candidates.jsonl" ]; then
    echo "== drawing and scoring candidates (budget $params +- $tolerance, fwd FLOPs <= $max_flops)"
    pool_dir=$(mktemp -d "$out/pool.XXXXXX")
    mapfile -t pool < <(py pool "$pool_dir" "$params" "$tolerance" "$seed" 1200 "$context")
    [ "${#pool[@]}" -gt 0 ] || die "drew no candidate near the budget"
    "$merino" search --score "${pool[@]}" --device phone-cpu >"$out/pool.jsonl"
    "$merino" search --score "${pool[@]}" --device phone-cpu --projection-weight 0 \
      >"$out/pool-before.jsonl"
    py choose "$out/pool.jsonl" "$out/pool-before.jsonl" "$out/candidates" "$params" \
      "$tolerance" "$max_flops" "$n_candidates" "$context" "$out/candidates.jsonl.tmp"
    mv "$out/candidates.jsonl.tmp" "$out/candidates.jsonl"
    rm -rf "$pool_dir"
  fi
  # replaced, not rewritten: a study still running reads the file it opened
  py runs "$out/candidates.jsonl" "$extra_seeds" >"$out/runs.txt.tmp"
  only_runs "$out/runs.txt.tmp"
  mv "$out/runs.txt.tmp" "$out/runs.txt"
  while read -r name run_seed; do
    train_run "$name" "$out/candidates/$name.yaml" "$run_seed"
  done <"$out/runs.txt"
  py report "$out/candidates.jsonl" "$out/runs.txt" "$out/runs" "$steps" "$out/results.md" \
    "$out/results.json" "$header" "$report_only"
  ngram_reference
else
  # 3. At each budget: the search's winner and the two designed shapes at its budgets.
  : >"$out/runs.txt.tmp"
  shapes=()
  for budget in $designed_budgets; do
    dir=$out/candidates/budget-$budget
    mkdir -p "$dir"
    if [ ! -s "$dir/mobile.yaml" ]; then
      echo "== searching at $budget parameters (context $context, default FLOP budget, free width)"
      "$merino" search --params "$budget" --seq-len "$context" --population 512 \
        --iterations 200000 --seed 1 --embed-width 0 --out "$dir/searched.yaml"
      py designed-shapes "$dir/searched.yaml" "$context" "$dir"
    fi
    # The search again with the embedding width held at the uniform shape's (--embed-width):
    # what the search finds when it cannot narrow the tables to buy depth.
    if [ ! -s "$dir/anchored.yaml" ]; then
      width=$(py reference-width "$dir/searched.yaml")
      echo "== searching at $budget parameters with the embedding width fixed at $width"
      "$merino" search --params "$budget" --seq-len "$context" --population 512 \
        --iterations 200000 --seed 1 --embed-width "$width" --out "$dir/anchored.yaml"
    fi
    for shape in $designed_shapes; do shapes+=("$dir/$shape.yaml"); done
    # Seed by seed, so a budget's first comparison is complete after one run of each shape.
    for run_seed in $designed_seeds; do
      for shape in $designed_shapes; do echo "budget-$budget-$shape $run_seed"; done
    done >>"$out/runs.txt.tmp"
  done
  only_runs "$out/runs.txt.tmp"
  mv "$out/runs.txt.tmp" "$out/runs.txt"
  "$merino" search --score "${shapes[@]}" --device phone-cpu >"$out/shapes.jsonl"
  while read -r name run_seed; do
    budget=${name#budget-}
    budget=${budget%%-*}
    train_run "$name" "$out/candidates/budget-$budget/${name##*-}.yaml" "$run_seed"
  done <"$out/runs.txt"
  py designed-report "$out/shapes.jsonl" "$out/runs.txt" "$out/runs" "$steps" \
    "$out/results.md" "$out/results.json" "$header" "$report_only"
  ngram_reference
fi
