#!/usr/bin/env python3
"""Helper of scripts/nas_correlation.sh: everything the study needs beyond the shell.

Drawing and choosing candidates, writing model YAMLs, the designed reference shapes, reading
final validation losses, and the statistics (Spearman, Kendall tau-b, Fisher and bootstrap
intervals, permutation p-values). Standard library only; every subcommand is called by the
shell script, so the study has one entry point (docs/NAS.md, "Does the entropy rank trained
models?").
"""
import array
import collections
import glob
import itertools
import json
import math
import os
import random
import re
import struct
import sys

VOCAB = 50257


# ---- shapes -------------------------------------------------------------------------------

def ffn_dim(width, halves):  # search/space.h BlockGene::ffn_dim
    return (halves * width // 2 + 4) // 8 * 8


def layer_params(c, f):  # qkv, out, fc, proj with biases, two LayerNorms (search/cost.cpp)
    return 4 * c * c + 2 * f * c + 9 * c + f


def exact_params(blocks, context, share):
    """search/cost.cpp's count; `merino search --score` checks it again."""
    e = blocks[0]["d_model"]
    p, prev = VOCAB * e + context * e, e
    for b in blocks:
        c = b["d_model"]
        if c != prev:
            p += c * prev + c
        p += (1 if share else b["layers"]) * layer_params(c, b["ffn_dim"])
        prev = c
    p += 2 * prev
    if prev != e:
        p += e * prev
    return p


def model_yaml(name, blocks, context, share, note):
    y = ["# " + note, "model:", '  name: "%s"' % name, "  vocab_size: %d" % VOCAB,
         "  context_length: %d" % context, "  norm: layernorm", "  activation: gelu",
         "  position: learned", "  bias: true", "  tie_embeddings: true", "  blocks:"]
    for b in blocks:
        y.append("    - {layers: %d, d_model: %d, n_heads: %d, ffn_dim: %d%s}"
                 % (b["layers"], b["d_model"], b["n_heads"], b["ffn_dim"],
                    ", share: true" if share and b["layers"] > 1 else ""))
    return "\n".join(y) + "\n"


def shape(blocks):
    return ", ".join("%d x %d/%dh, ffn %.1f" % (b["layers"], b["d_model"], b["n_heads"],
                                              b["ffn_ratio"]) for b in blocks)


def kind(c):
    widths = {b["d_model"] for b in c["blocks"]}
    return ("single" if len(widths) == 1 else "multi") + "-" + (
        "shared" if c["share"] else "unshared")


# ---- the correlation study: pool, choice, runs -----------------------------------------

def draw(rng):
    """Single- and multi-width shapes, with and without sharing, in equal shares."""
    share = rng.random() < 0.5
    single = rng.random() < 0.5
    blocks = []
    for i in range(rng.choice([1, 2, 3])):
        head = rng.choice([32, 64])
        if i == 0 or single:  # the token table is 50257 x the first width: most of the budget
            width = blocks[0]["d_model"] if blocks else rng.choice(
                [w for w in (64, 96, 128) if w % head == 0])
            head = 32 if width % 64 else head
        else:
            width = head * rng.randint(max(1, 64 // head), 512 // head)
        halves = rng.randint(2, 12)
        blocks.append({"layers": rng.randint(1, 12), "d_model": width, "n_heads": width // head,
                       "ffn_dim": ffn_dim(width, halves)})
    return blocks, share


def cmd_pool(pool_dir, budget, tol, seed, size, context):
    rng, seen, files = random.Random(int(seed)), set(), []
    budget, tol, size, context = float(budget), float(tol), int(size), int(context)
    for _ in range(3_000_000):
        if len(files) >= size:
            break
        blocks, share = draw(rng)
        key = json.dumps([blocks, share])
        if key in seen or abs(exact_params(blocks, context, share) - budget) > tol * budget:
            continue
        seen.add(key)
        path = os.path.join(pool_dir, "p%04d.yaml" % len(files))
        with open(path, "w") as f:
            f.write(model_yaml("p%04d" % len(files), blocks, context, share, "pool draw"))
        files.append(path)
    print("\n".join(files))


KINDS = ["multi-unshared", "single-unshared", "multi-shared", "single-shared"]


def cmd_choose(after_jsonl, before_jsonl, cand_dir, budget, tol, max_flops, n, context,
               out_jsonl):
    """n candidates, shared out over the four kinds, each kind spread evenly over its
    entropy range (the objective with width projections: `after`)."""
    budget, tol, max_flops, n, context = (float(budget), float(tol), float(max_flops), int(n),
                                          int(context))
    before = {p["file"]: p for p in map(json.loads, open(before_jsonl)) if p}
    pool = [json.loads(l) for l in open(after_jsonl) if l.strip()]
    ok = [p for p in pool if p["effective"] and abs(p["params"] - budget) <= tol * budget
          and p["flops"] <= max_flops]
    want = {k: n // 4 + (1 if i < n % 4 else 0) for i, k in enumerate(KINDS)}
    picked = []
    for k in KINDS:
        group = sorted((p for p in ok if kind(p) == k), key=lambda p: (p["entropy"], p["file"]))
        m = want[k]
        if len(group) < m:
            sys.exit("nas_correlation: error: only %d eligible %s candidates of %d drawn; "
                     "need %d" % (len(group), k, len(pool), m))
        if m == 1:
            picked.append(group[len(group) // 2])
        elif m > 1:
            picked += [group[round(i * (len(group) - 1) / (m - 1))] for i in range(m)]
    picked.sort(key=lambda p: (p["entropy"], p["file"]))
    with open(out_jsonl, "w") as f:
        for i, p in enumerate(picked):
            name = "c%02d" % (i + 1)
            blocks = [{k: b[k] for k in ("layers", "d_model", "n_heads", "ffn_dim")}
                      for b in p["blocks"]]
            note = "nas_correlation candidate %s (%s): %s (from %s of %d eligible)" % (
                name, kind(p), shape(p["blocks"]), os.path.basename(p["file"]), len(ok))
            path = os.path.join(cand_dir, name + ".yaml")
            with open(path, "w") as y:
                y.write(model_yaml(name, blocks, context, p["share"], note))
            b = before[p["file"]]
            f.write(json.dumps(dict(p, name=name, kind=kind(p), file=path, pool_file=p["file"],
                                    entropy_before=b["entropy"], score_before=b["score"])) + "\n")
    print("%d of %d drawn candidates eligible; picked %d (%s) over entropy %.1f to %.1f"
          % (len(ok), len(pool), n, ", ".join("%d %s" % (want[k], k) for k in KINDS),
             picked[0]["entropy"], picked[-1]["entropy"]))


def cmd_runs(cands_jsonl, extra_seeds):
    """`name seed` per run: every candidate with seed 1, and `extra_seeds` of them, evenly
    spread over the entropy order, again with seed 2 (the run-to-run noise)."""
    names = [json.loads(l)["name"] for l in open(cands_jsonl) if l.strip()]
    m = min(int(extra_seeds), len(names))
    twice = {names[round(i * (len(names) - 1) / (m - 1))] for i in range(m)} if m > 1 else (
        {names[len(names) // 2]} if m == 1 else set())
    for name in spread_order(names):
        print(name, 1)
    for name in names:
        if name in twice:
            print(name, 2)


def spread_order(items):
    """Both ends, then the middle, then the middles of what is left: a study stopped early
    (interim report) has finished runs across the whole entropy range, not only its low end."""
    if len(items) < 3:
        return list(items)
    order, seen = [], set()
    segments = [(0, len(items) - 1)]
    for i in (0, len(items) - 1):
        order.append(i)
        seen.add(i)
    while segments:
        nxt = []
        for lo, hi in segments:
            mid = (lo + hi) // 2
            if mid not in seen:
                order.append(mid)
                seen.add(mid)
            if mid - lo > 1:
                nxt.append((lo, mid))
            if hi - mid > 1:
                nxt.append((mid, hi))
        segments = nxt
    return [items[i] for i in order]


def final_val_loss(metrics, steps):
    loss = None
    if os.path.exists(metrics):
        for line in open(metrics):
            r = json.loads(line)
            if r.get("step") == int(steps) and "val_loss" in r:
                loss = r["val_loss"]
    return loss


def cmd_done(metrics, steps):
    sys.exit(0 if final_val_loss(metrics, steps) is not None else 1)


# ---- n-gram reference: what counting alone reaches on the same tokens ------------------------

def read_shard(path):
    """Tokens of one shard. The format's owner is data/shard.cpp (docs/DATA.md, llm.c's layout):
    a 1024-byte header of int32 (magic 20240520, version, count), then uint16 (version 1) or
    uint32 (version 2) tokens; checked as ShardReader checks it."""
    raw = open(path, "rb").read()
    if len(raw) < 1024:
        sys.exit("nas_correlation: error: %s: shorter than a shard header" % path)
    magic, version, count = struct.unpack("<3i", raw[:12])
    width = {1: 2, 2: 4}.get(version)
    if magic != 20240520 or width is None or count < 0 or len(raw) != 1024 + count * width:
        sys.exit("nas_correlation: error: %s: not a token shard (magic %d, version %d, %d tokens, "
                 "%d bytes)" % (path, magic, version, count, len(raw)))
    tokens = array.array("H" if width == 2 else "I")
    tokens.frombytes(raw[1024:])
    if sys.byteorder != "little":
        tokens.byteswap()
    return tokens.tolist()


class KneserNey:
    """Interpolated Kneser-Ney (Chen and Goodman 1998, one discount D per order) up to trigrams:
    the highest order uses counts, the lower ones continuation counts (how many distinct tokens
    precede), and the unigram level is add-one smoothed over the vocabulary so that every token
    has a probability."""

    def __init__(self, tokens, vocab, discount=0.75):
        self.vocab, self.d = vocab, discount
        self.unigram = collections.Counter(tokens)
        self.total = len(tokens)
        self.tri = collections.Counter(zip(tokens, tokens[1:], tokens[2:]))
        self.bi = collections.Counter(zip(tokens, tokens[1:]))
        # continuation counts: distinct left neighbours of a bigram / of a token
        self.bi_cont = collections.Counter((v, w) for (_, v, w) in self.tri)
        self.uni_cont = collections.Counter(w for (_, w) in self.bi)
        self.uni_cont_total = len(self.bi)
        self.ctx = {}  # context -> (count, distinct followers), per table
        for name, table in (("tri", self.tri), ("bi", self.bi), ("bi_cont", self.bi_cont)):
            c = collections.defaultdict(lambda: [0, 0])
            for key, n in table.items():
                entry = c[key[:-1]]
                entry[0] += n
                entry[1] += 1
            self.ctx[name] = c

    def p_unigram_ml(self, w):  # add-one maximum likelihood, the unigram reference
        return (self.unigram[w] + 1) / (self.total + self.vocab)

    def p1(self, w):
        return (self.uni_cont[w] + 1) / (self.uni_cont_total + self.vocab)

    def interpolate(self, name, table, key, lower):
        entry = self.ctx[name].get(key[:-1])
        if entry is None:
            return lower
        count, followers = entry
        return max(table.get(key, 0) - self.d, 0) / count + self.d * followers / count * lower

    def p2(self, v, w, table="bi"):
        counts = self.bi if table == "bi" else self.bi_cont
        return self.interpolate(table, counts, (v, w), self.p1(w))

    def p3(self, u, v, w):
        return self.interpolate("tri", self.tri, (u, v, w), self.p2(v, w, "bi_cont"))


def cmd_ngram(data_dir, seq_len, batch, val_batches):
    """Validation loss of n-gram models counted on the training shards, over the targets the
    trainer's validation reads (the first val_batches x batch sequences of seq_len + 1 tokens,
    unshuffled; each window's context starts at its first token, as the transformer's does)."""
    shards = sorted(glob.glob(os.path.join(data_dir, "train_*.bin")))
    val = sorted(glob.glob(os.path.join(data_dir, "val_*.bin")))
    if not shards or not val:
        print("n-gram reference: no prepared data in %s (a report-only run in a fresh checkout "
              "skips it)" % data_dir)
        return
    train = [t for path in shards for t in read_shard(path)]
    tokens = [t for path in val for t in read_shard(path)]
    model = KneserNey(train, VOCAB)
    T, rows = int(seq_len), int(batch) * int(val_batches)
    nll = [0.0, 0.0, 0.0]
    n = 0
    for r in range(rows):
        window = tokens[r * T:r * T + T + 1]
        if len(window) < T + 1:
            sys.exit("nas_correlation: error: %s: %d validation tokens, fewer than %d batches "
                     "need" % (data_dir, len(tokens), int(val_batches)))
        for i in range(1, T + 1):
            w = window[i]
            nll[0] -= math.log(model.p_unigram_ml(w))
            nll[1] -= math.log(model.p2(window[i - 1], w))
            nll[2] -= math.log(model.p3(window[i - 2], window[i - 1], w) if i >= 2
                               else model.p2(window[i - 1], w))
            n += 1
    print("n-gram reference on the same %d validation targets, counted on the %s training "
          "tokens: unigram %.4f, Kneser-Ney bigram %.4f, Kneser-Ney trigram %.4f "
          "(nats/token; scripts/nas_study.py KneserNey)."
          % (n, format(len(train), ","), nll[0] / n, nll[1] / n, nll[2] / n))


# ---- statistics ---------------------------------------------------------------------------

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


def kendall(a, b):
    """Kendall's tau-b (ties in either variable)."""
    conc = disc = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif (da > 0) == (db > 0):
            conc += 1
        else:
            disc += 1
    den = math.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return (conc - disc) / den if den > 0 else float("nan")


def fisher_interval(r, n, variance_numerator, n_offset):
    """95% interval through Fisher's z with Fieller, Hartley and Pearson's (1957) variances:
    1.06 / (n - 3) for Spearman, 0.437 / (n - 4) for Kendall."""
    if n - n_offset <= 0 or not -1 < r < 1:
        return None
    z, se = math.atanh(r), math.sqrt(variance_numerator / (n - n_offset))
    return (math.tanh(z - 1.96 * se), math.tanh(z + 1.96 * se))


def bootstrap_interval(a, b, stat, resamples=2000, seed=0):
    """95% percentile interval over candidates drawn with replacement; None when more than 5% of
    the resamples have a constant variable (no correlation): leaving them out would give the
    interval of the resamples that happen to draw the rare values, not of the study (one
    candidate of eight with another embedding width is missing from 34% of them)."""
    rng, n, values = random.Random(seed), len(a), []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        v = stat([a[i] for i in idx], [b[i] for i in idx])
        if not math.isnan(v):
            values.append(v)
    if len(values) < 0.95 * resamples:
        return None
    values.sort()
    return (values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1])


def permutation_p(a, b, stat, shuffles=20000, seed=0):
    """One-sided: the share of orderings of b with a correlation >= the observed; exact for
    n <= 8, else Monte Carlo (shuffles + 1 in the denominator)."""
    obs = stat(a, b)
    if math.isnan(obs):
        return None
    if len(a) <= 8:
        perms = list(itertools.permutations(b))
        return sum(stat(a, list(p)) >= obs - 1e-12 for p in perms) / len(perms)
    rng, perm, hits = random.Random(seed), list(b), 0
    for _ in range(shuffles):
        rng.shuffle(perm)
        hits += stat(a, perm) >= obs - 1e-12
    return (hits + 1) / (shuffles + 1)


def interval_text(iv):
    return "n/a" if iv is None else "[%.2f, %.2f]" % iv


def correlation_block(label, xs, ys):
    n = len(xs)
    rs, tk = spearman(xs, ys), kendall(xs, ys)
    p = permutation_p(xs, ys, spearman)
    return {"proxy": label, "n": n, "spearman": rs, "kendall": tk,
            "spearman_fisher95": fisher_interval(rs, n, 1.06, 3),
            "kendall_fisher95": fisher_interval(tk, n, 0.437, 4),
            "spearman_bootstrap95": bootstrap_interval(xs, ys, spearman),
            "kendall_bootstrap95": bootstrap_interval(xs, ys, kendall),
            "spearman_p_one_sided": p}


def fmt(x, spec="%.3f"):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else spec % x


def load_losses(runs_dir, name, seeds, steps, interim):
    """Final validation loss per seed; an unfinished run is an error, or left out when
    `interim` (a report while the study is still running)."""
    losses = {}
    for s in seeds:
        loss = final_val_loss(os.path.join(runs_dir, "%s-s%d" % (name, s), "metrics.jsonl"),
                              steps)
        if loss is None and not interim:
            sys.exit("nas_correlation: error: no final val_loss for %s seed %d" % (name, s))
        if loss is not None:
            losses[s] = loss
    return losses


def interim_note(finished, total):
    """Lines that say a report is interim, before its table; none when every run finished."""
    return [] if finished == total else [
        "**Interim: %d of %d runs finished; the figures below change as the rest finish.**"
        % (finished, total), ""]


def seconds(runs_dir, name, seed):
    path = os.path.join(runs_dir, "%s-s%d.seconds" % (name, seed))
    return sum(float(x) for x in open(path).read().split()) if os.path.exists(path) else 0.0


def run_seeds(runs_txt):
    seeds = {}
    for line in open(runs_txt):
        if line.strip():
            name, seed = line.split()
            seeds.setdefault(name, []).append(int(seed))
    return seeds


# ---- other proxies: the objective's variants and trivial baselines ------------------------
#
# Fixed before any result of the 1,500-step study was seen, so that choosing among them is not
# fitting noise in the losses: each is a change the first study or MeRino/DeepMAD suggest, or a
# baseline a proxy has to beat to be worth its theory. The rows marked "(added)" came later,
# after the first interim results (see their comment); 12 of the 15 runs were unseen then.

def subspace_terms(c):
    """Per-candidate sums of docs/NAS.md's objective: attention and FFN branch entropies over
    executed layers, and the width projections' terms (search/objective.cpp)."""
    blocks = c["blocks"]
    attn = sum(b["layers"] * 2 * math.log(b["d_model"]) for b in blocks)
    ffn = sum(b["layers"] * (math.log(b["d_model"]) + math.log(b["ffn_dim"])) for b in blocks)
    proj = sum(math.log(blocks[i - 1]["d_model"]) for i in range(1, len(blocks))
               if blocks[i]["d_model"] != blocks[i - 1]["d_model"])
    if blocks[-1]["d_model"] != blocks[0]["d_model"]:
        proj += math.log(blocks[-1]["d_model"])
    return attn, ffn, proj


def depth_cv2(c):
    depths = [b["layers"] for b in c["blocks"]]
    mean = sum(depths) / len(depths)
    return sum(d * d for d in depths) / len(depths) / (mean * mean) - 1


def body_params(c):
    """Parameters outside the token and position tables."""
    first = c["blocks"][0]["d_model"]
    return c["params"] - (VOCAB + int(c["seq_len"])) * first


def levine_capped_entropy(c):
    """The entropy with each block's executed layers counted up to log_3(width) only: Levine et
    al. (NeurIPS 2020) find self-attention depth-efficient below that threshold and no better
    than width above it, where the entropy still grows linearly."""
    _, _, proj = subspace_terms(c)
    return proj + sum(min(b["layers"], math.log(b["d_model"], 3)) *
                      (3 * math.log(b["d_model"]) + math.log(b["ffn_dim"])) for b in c["blocks"])


def other_proxies(c):
    attn, ffn, proj = subspace_terms(c)
    if abs(attn + ffn + proj - c["entropy"]) > 1e-6 * c["entropy"]:
        sys.exit("nas_correlation: error: %s: entropy %.6f from merino, %.6f from "
                 "nas_study.py's formula; the two disagree (update subspace_terms)"
                 % (c["name"], c["entropy"], attn + ffn + proj))
    h = attn + ffn + proj
    return [
        ("entropy, depth balance gamma = 2 (4x the default)", h * math.exp(-2 * depth_cv2(c))),
        ("entropy, candidates with eff. rho > 0.15 ranked last",
         h if c["rho"] <= 0.15 else -1e9 + h),
        ("entropy of the attention branch only", attn),
        ("entropy of the FFN branch only (--objective ffn-only)", ffn),
        ("baseline: parameters outside the embedding tables", body_params(c)),
        ("baseline: forward FLOPs/token", c["flops"]),
        ("baseline: executed layers", sum(b["layers"] for b in c["blocks"])),
        ("baseline: embedding width (first block's d_model)", c["blocks"][0]["d_model"]),
        # added on 2026-12-07 with 3 of the 15 correlation runs and 3 designed runs finished
        # (the last, Levine's cap, with 4 of 15 and 4 designed runs)
        ("(added) entropy of the whole output vector: first width x entropy",
         c["blocks"][0]["d_model"] * h),
        ("(added) entropy per executed layer", h / sum(b["layers"] for b in c["blocks"])),
        ("(added) effectiveness alone: -rho", -c["rho"]),
        ("(added) entropy, each block's depth capped at log3(width) (Levine et al. 2020)",
         levine_capped_entropy(c)),
    ]


def seed_variance(diffs):
    """Seed-to-seed variance from differences of pairs of runs: each difference of two draws
    has twice the variance of one."""
    return sum(d * d for d in diffs) / (2 * len(diffs))


def noise_ceiling(rows, diffs, draws=4000, seed=0):
    """How well even a perfect proxy can rank these runs, given seed noise: the Spearman
    correlation between the true mean losses and the measured ones, simulated.

    The seed-to-seed SD is sigma = sqrt(mean(d^2) / 2) from the pairs' differences d (each d is
    the difference of two draws). A candidate's measured mean over k seeds has noise variance
    sigma^2 / k, so the spread of the true means is what is left of the measured spread:
    var_true = var(measured) - mean(sigma^2 / k). Each draw takes true means at that spread (the
    measured means shrunk toward their average), adds the noise, and ranks. Needs a pair."""
    if not diffs or len(rows) < 3:
        return None
    sigma2 = seed_variance(diffs)
    means = [r["val_loss"] for r in rows]
    avg = sum(means) / len(means)
    var_measured = sum((m - avg) ** 2 for m in means) / (len(means) - 1)
    var_noise = sum(sigma2 / len(r["losses"]) for r in rows) / len(rows)
    var_true = max(0.0, var_measured - var_noise)
    shrink = math.sqrt(var_true / var_measured) if var_measured > 0 else 0.0
    truth = [avg + shrink * (m - avg) for m in means]
    rng, values = random.Random(seed), []
    for _ in range(draws):
        measured = [t + rng.gauss(0, math.sqrt(sigma2 / len(r["losses"])))
                    for t, r in zip(truth, rows)]
        values.append(spearman(truth, measured))
    values.sort()
    median, lo = values[len(values) // 2], values[int(0.05 * len(values))]
    text = ("Noise ceiling: seed-to-seed SD %.4f (from %d pairs), spread (SD) of the true mean "
            "losses about %.4f; a perfect proxy would reach a Spearman correlation of %.2f with "
            "these measured losses (median of %d simulations; 5th percentile %.2f)."
            % (math.sqrt(sigma2), len(diffs), math.sqrt(var_true), median, draws, lo))
    return {"seed_sd": math.sqrt(sigma2), "true_sd": math.sqrt(var_true),
            "perfect_proxy_spearman_median": median, "perfect_proxy_spearman_p5": lo,
            "text": text}


def cmd_report(cands_jsonl, runs_txt, runs_dir, steps, out_md, out_json, header,
               interim="0"):
    seeds = run_seeds(runs_txt)
    rows = []
    for line in open(cands_jsonl):
        c = json.loads(line)
        losses = load_losses(runs_dir, c["name"], seeds.get(c["name"], []), steps,
                             interim == "1")
        if not losses:
            continue
        rows.append(dict(c, losses=losses, val_loss=sum(losses.values()) / len(losses),
                         train_seconds=sum(seconds(runs_dir, c["name"], s) for s in losses)))
    if len(rows) < 3:
        sys.exit("nas_correlation: error: %d candidates finished; a correlation needs 3"
                 % len(rows))
    neg = [-r["val_loss"] for r in rows]
    stats = [correlation_block(label, [r[key] for r in rows], neg) for label, key in (
        ("entropy (with projections)", "entropy"), ("score (with projections)", "score"),
        ("entropy (before: --projection-weight 0)", "entropy_before"),
        ("score (before: --projection-weight 0)", "score_before"))]
    pairs = [r for r in rows if len(r["losses"]) > 1]
    diffs = [abs(r["losses"][1] - r["losses"][2]) for r in pairs]
    finished = sum(len(r["losses"]) for r in rows)
    md = [header, ""] + interim_note(finished, sum(len(v) for v in seeds.values())) + [
          "| cand. | kind | blocks (layers x d_model/heads, ffn ratio) | executed layers | params "
          "| fwd FLOPs/token | entropy | entropy before | score | eff. rho | val loss "
          "(mean of seeds) | seeds | train s |",
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        md.append("| %s | %s | %s | %d | %s | %.1fM | %.1f | %.1f | %.1f | %.3f | %.4f | %s "
                  "| %.0f |" % (r["name"], r["kind"], shape(r["blocks"]),
                     sum(b["layers"] for b in r["blocks"]), format(r["params"], ","),
                     r["flops"] / 1e6, r["entropy"], r["entropy_before"], r["score"], r["rho"],
                     r["val_loss"],
                     " / ".join("%.4f" % r["losses"][s] for s in sorted(r["losses"])),
                     r["train_seconds"]))
    md += ["", "| proxy vs -(val loss) | n | Spearman | 95% Fisher | 95% bootstrap | one-sided p "
           "| Kendall tau-b | 95% Fisher | 95% bootstrap |",
           "|---|---:|---:|---|---|---:|---:|---|---|"]
    for s in stats:
        md.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            s["proxy"], s["n"], fmt(s["spearman"]), interval_text(s["spearman_fisher95"]),
            interval_text(s["spearman_bootstrap95"]), fmt(s["spearman_p_one_sided"]),
            fmt(s["kendall"]), interval_text(s["kendall_fisher95"]),
            interval_text(s["kendall_bootstrap95"])))
    others = [other_proxies(r) for r in rows]
    other_stats = [correlation_block(label, [o[k][1] for o in others], neg)
                   for k, (label, _) in enumerate(others[0])]
    md += ["", "Other proxies on the same runs (fixed before the results, except those marked "
           "(added); scripts/nas_study.py other_proxies):", "",
           "| proxy vs -(val loss) | Spearman | 95% bootstrap | one-sided p | Kendall tau-b |",
           "|---|---:|---|---:|---:|"]
    for s in other_stats:
        md.append("| %s | %s | %s | %s | %s |" % (
            s["proxy"], fmt(s["spearman"]), interval_text(s["spearman_bootstrap95"]),
            fmt(s["spearman_p_one_sided"]), fmt(s["kendall"])))
    noise = ("%d candidates trained with two seeds, |loss(seed 1) - loss(seed 2)| mean %.4f, "
             "max %.4f" % (len(diffs), sum(diffs) / len(diffs), max(diffs))
             if diffs else "no candidate has two seeds")
    md += ["", "Seed noise: %s. Training took %.0f s in all." % (
        noise, sum(r["train_seconds"] for r in rows))]
    ceiling = noise_ceiling(rows, diffs)
    if ceiling:
        md += ["", ceiling["text"]]
    text = "\n".join(md) + "\n"
    open(out_md, "w").write(text)
    json.dump({"correlations": stats, "other_proxies": other_stats, "seed_differences": diffs,
               "noise_ceiling": ceiling, "candidates": rows},
              open(out_json, "w"), indent=1)
    print(text, end="")


# ---- searched versus designed -------------------------------------------------------------

def header_value(path, pattern):
    for line in open(path):
        m = re.search(pattern, line)
        if m:
            return m.groups()
    sys.exit("nas_correlation: error: %s: no line matches '%s'" % (path, pattern))


def uniform_params_flops(width, layers, ffn, context):
    params = VOCAB * width + context * width + layers * layer_params(width, ffn) + 2 * width
    flops = 2 * (layers * (4 * width * width + 2 * ffn * width) + VOCAB * width) \
        + 4 * width * context * layers
    return params, flops


def reference_shape(searched_yaml):
    """(layers, width) of the GPT-2-style shape whose FLOPs the search assumed as its budget,
    from the header of a search run without --flops."""
    return tuple(map(int, header_value(searched_yaml, r"assumed: .*?(\d+) layers x (\d+)")))


def cmd_reference_width(searched_yaml):
    print(reference_shape(searched_yaml)[1])


def cmd_designed_shapes(searched_yaml, context, out_dir):
    """Writes uniform.yaml (the GPT-2-style shape the search's default FLOP budget came from)
    and mobile.yaml (MobileLLM-style deep and thin: 3/4 of that width, MobileLLM's FFN ratio
    near 8/3 (2.5 in the search's steps), as many layers as the parameter and FLOP budgets
    allow) beside the search's winner, at its parameter and FLOP budgets."""
    context = int(context)
    layers, width = reference_shape(searched_yaml)
    budget_params = int(header_value(searched_yaml, r"--params (\d+)")[0])
    budget_flops = float(header_value(searched_yaml, r"--flops (\d+)")[0])
    uniform = [{"layers": layers, "d_model": width, "n_heads": width // 64, "ffn_dim": 4 * width}]
    thin = max(64, (width * 3 // 4) // 32 * 32)
    head = 64 if thin % 64 == 0 else 32
    ffn = ffn_dim(thin, 5)
    deep = 1
    while deep < 64:
        p, f = uniform_params_flops(thin, deep + 1, ffn, context)
        if p > budget_params or f > budget_flops:
            break
        deep += 1
    mobile = [{"layers": deep, "d_model": thin, "n_heads": thin // head, "ffn_dim": ffn}]
    for name, blocks, note in (
            ("uniform", uniform, "GPT-2-style uniform shape (the default FLOP budget's rule)"),
            ("mobile", mobile, "MobileLLM-style deep and thin shape at the same budgets")):
        with open(os.path.join(out_dir, name + ".yaml"), "w") as y:
            y.write(model_yaml(name, blocks, context, False, "nas_correlation designed: " + note))


def cmd_designed_report(scores_jsonl, runs_txt, runs_dir, steps, out_md, out_json, header,
                        interim="0"):
    seeds = run_seeds(runs_txt)
    rows = []
    for line in open(scores_jsonl):
        s = json.loads(line)
        name = os.path.splitext(os.path.basename(s["file"]))[0]
        budget = os.path.basename(os.path.dirname(s["file"]))
        run = budget + "-" + name
        losses = load_losses(runs_dir, run, seeds.get(run, []), steps, interim == "1")
        if losses:
            rows.append(dict(s, name=run, budget=budget, shape_name=name, losses=losses,
                             val_loss=sum(losses.values()) / len(losses)))
    if not rows:
        sys.exit("nas_correlation: error: no run has finished yet")
    finished = sum(len(r["losses"]) for r in rows)
    md = [header, ""] + interim_note(finished, sum(len(v) for v in seeds.values())) + [
          "| budget | shape | blocks | executed layers | params | fwd FLOPs/token "
          "| entropy | eff. rho | val loss per seed | mean |",
          "|---|---|---|---:|---:|---:|---:|---:|---|---:|"]
    verdicts = []
    for budget in sorted({r["budget"] for r in rows}, key=lambda b: int(b.split("-")[-1])):
        group = [r for r in rows if r["budget"] == budget]
        for r in group:
            md.append("| %s | %s | %s | %d | %s | %.1fM | %.1f | %.3f | %s | %.4f |" % (
                budget, r["shape_name"], shape(r["blocks"]),
                sum(b["layers"] for b in r["blocks"]), format(r["params"], ","),
                r["flops"] / 1e6, r["entropy"], r["rho"],
                " / ".join("%.4f" % r["losses"][s] for s in sorted(r["losses"])), r["val_loss"]))
        best = min(group, key=lambda r: r["val_loss"])
        verdicts.append("%s: lowest mean validation loss %s (%.4f)" % (
            budget, best["shape_name"], best["val_loss"]))
    diffs = [abs(r["losses"][1] - r["losses"][2]) for r in rows if {1, 2} <= set(r["losses"])]
    noise = ("%d shapes trained with seeds 1 and 2: |difference| mean %.4f, max %.4f, "
             "seed-to-seed SD %.4f" % (len(diffs), sum(diffs) / len(diffs), max(diffs),
                                       math.sqrt(seed_variance(diffs)))
             if diffs else "no shape has both seeds yet")
    md += ["", "; ".join(verdicts) + ".", "", "Seed noise: %s." % noise] + proxy_picks(rows)
    text = "\n".join(md) + "\n"
    open(out_md, "w").write(text)
    json.dump(rows, open(out_json, "w"), indent=1)
    print(text, end="")


def proxy_picks(rows):
    """Which trained shape each proxy would have chosen at each budget: the designed shapes are
    a check the proxies were not chosen on (the correlation runs are where they are compared)."""
    budgets = sorted({r["budget"] for r in rows}, key=lambda b: int(b.split("-")[-1]))
    groups = [[r for r in rows if r["budget"] == b] for b in budgets]
    if any(len(g) < 2 for g in groups):
        return []
    proxies = [("entropy (the search's objective)", lambda r: r["entropy"])] + [
        (label, (lambda k: lambda r: other_proxies(r)[k][1])(k))
        for k, (label, _) in enumerate(other_proxies(rows[0]))]
    md = ["", "Shape each proxy ranks first among the trained shapes (highest value; the trained "
          "best in the header):", "",
          "| proxy | " + " | ".join("%s (best: %s)" % (b, min(g, key=lambda r: r["val_loss"])
                                                       ["shape_name"])
                                   for b, g in zip(budgets, groups)) + " |",
          "|---|" + "---|" * len(budgets)]
    for label, value in proxies:
        picks = []
        for g in groups:
            top = max(g, key=value)
            tied = [r for r in g if value(r) == value(top)]
            picks.append("tie" if len(tied) > 1 else top["shape_name"])
        md.append("| %s | %s |" % (label, " | ".join(picks)))
    return md


CMDS = {"ngram": cmd_ngram, "pool": cmd_pool, "choose": cmd_choose, "runs": cmd_runs, "done": cmd_done,
        "report": cmd_report, "designed-shapes": cmd_designed_shapes,
        "reference-width": cmd_reference_width,
        "designed-report": cmd_designed_report}

if __name__ == "__main__":
    CMDS[sys.argv[1]](*sys.argv[2:])
