#!/usr/bin/env python3
"""PyTorch CPU reference for bench_cpu_model: the same GPT-2 shape (pre-LN, GELU-tanh, learned
positions, tied head), one forward + backward of the mean cross-entropy, timed the same way.

usage: OMP_NUM_THREADS=2 /usr/bin/python3 bench/pytorch_cpu_baseline.py [--layers 12 --d 768
       --heads 12 --vocab 50257 --batch 1 --seq 256 --steps 3]
Needs PyTorch (Debian: apt-get install python3-torch). Not a CI dependency.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        shape = (B, T, self.heads, C // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        # explicit causal attention: torch 1.13 has no scaled_dot_product_attention
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, layers, d, heads, vocab, ctx):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, idx, targets):
        pos = torch.arange(idx.size(1))
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    model = GPT(a.layers, a.d, a.heads, a.vocab, max(a.seq, 1024))
    idx = torch.randint(0, a.vocab, (a.batch, a.seq))
    tgt = torch.randint(0, a.vocab, (a.batch, a.seq))
    model(idx, tgt).backward()  # warm-up
    times = []
    for _ in range(a.steps):
        model.zero_grad(set_to_none=False)
        t0 = time.perf_counter()
        model(idx, tgt).backward()
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: "
          f"{best * 1e3:.0f} ms/step, {a.batch * a.seq / best:.0f} tokens/s")


if __name__ == "__main__":
    main()
