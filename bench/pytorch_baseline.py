#!/usr/bin/env python3
"""PyTorch reference for bench_cuda_model on identical shapes: one training step (forward,
backward of the mean cross-entropy, fused AdamW) of a GPT-2 (LayerNorm, GELU-tanh, learned
positions) or LLaMA/MobileLLM (RMSNorm, SwiGLU, RoPE, GQA) model with a tied head, in eager mode
and under torch.compile, attention through scaled_dot_product_attention (flash/cuDNN kernels).
Prints tokens/s and MFU per variant; compare with bench_cuda_model's tokens/s from the same run
of scripts/gpu-check.sh (it writes this script's output next to the benchmarks when torch is
importable).

The shapes, vocabulary included (50,257 for GPT-2, 32,000 for MobileLLM), are read from
configs/<model>.yaml, the files bench_cuda_model trains. MFU is against the datasheet dense peak
(989 TFLOP/s bf16 on an H100 SXM or H200), as bench_cuda_model's `mfu` counter.

usage: python3 bench/pytorch_baseline.py [--model gpt2-124m|mobilellm-125m|tiny] [--batch 16]
       [--seq 1024] [--steps 10] [--dtype fp32|bf16] [--device cuda] [--mode both|eager|compile]
(--no-compile: --mode eager; scripts/gpu-check.sh runs the eager steps of both models first, so a
slow compile cannot cost them their numbers)
Not a CI dependency (needs PyYAML besides torch).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")
MODELS = ("gpt2-124m", "mobilellm-125m", "tiny")
# the two families this script builds, as configs/*.yaml spell them
FAMILIES = {("layernorm", "gelu", "learned"): "gpt2", ("rmsnorm", "swiglu", "rope"): "llama"}


def load_shape(model):
    """(layers, d_model, heads, kv heads, ffn, family, vocab, rope theta) of configs/<model>.yaml"""
    import yaml
    path = os.path.join(CONFIGS, model + ".yaml")
    m = yaml.safe_load(open(path))["model"]
    key = (m["norm"], m["activation"], m["position"])
    if key not in FAMILIES or not m.get("tie_embeddings", True):
        sys.exit(f"pytorch_baseline.py: {path}: norm/activation/position {key} (or untied "
                 f"embeddings) is not a family this script builds: {sorted(FAMILIES)}")
    return (m["layers"], m["d_model"], m["n_heads"], m.get("n_kv_heads", m["n_heads"]), m["ffn_dim"],
            FAMILIES[key], m["vocab_size"], float(m.get("rope_theta", 10000.0)))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, theta):
    # x: [B, H, T, hd]; rotates pairs (i, i + hd/2), the HF LLaMA convention
    T, hd = x.shape[-2], x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, device=x.device, dtype=torch.float32) / hd)
    ang = torch.outer(torch.arange(T, device=x.device, dtype=torch.float32), inv)
    cos, sin = torch.cat([ang.cos()] * 2, -1).to(x.dtype), torch.cat([ang.sin()] * 2, -1).to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self, d, heads, kv_heads, ffn, family, theta):
        super().__init__()
        self.h, self.kvh, self.hd, self.family, self.theta = heads, kv_heads, d // heads, family, theta
        llama = family == "llama"
        norm = (lambda: RMSNorm(d)) if llama else (lambda: nn.LayerNorm(d))
        self.n1, self.n2 = norm(), norm()
        self.qkv = nn.Linear(d, (heads + 2 * kv_heads) * self.hd, bias=not llama)
        self.o = nn.Linear(d, d, bias=not llama)
        self.fc = nn.Linear(d, (2 if llama else 1) * ffn, bias=not llama)
        self.proj = nn.Linear(ffn, d, bias=not llama)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.n1(x)).split([self.h * self.hd, self.kvh * self.hd, self.kvh * self.hd], -1)
        q = q.view(B, T, self.h, self.hd).transpose(1, 2)
        k = k.view(B, T, self.kvh, self.hd).transpose(1, 2)
        v = v.view(B, T, self.kvh, self.hd).transpose(1, 2)
        if self.family == "llama":
            q, k = rope(q, self.theta), rope(k, self.theta)
        if self.kvh != self.h:
            k = k.repeat_interleave(self.h // self.kvh, 1)
            v = v.repeat_interleave(self.h // self.kvh, 1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(B, T, C))
        h = self.fc(self.n2(x))
        if self.family == "llama":
            gate, up = h.chunk(2, -1)
            h = F.silu(gate) * up
        else:
            h = F.gelu(h, approximate="tanh")
        return x + self.proj(h)


class LM(nn.Module):
    def __init__(self, layers, d, heads, kv_heads, ffn, family, vocab, ctx, theta):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d) if family == "gpt2" else None
        self.blocks = nn.ModuleList(Block(d, heads, kv_heads, ffn, family, theta) for _ in range(layers))
        self.nf = nn.LayerNorm(d) if family == "gpt2" else RMSNorm(d)

    def forward(self, idx, targets):
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for b in self.blocks:
            x = b(x)
        logits = self.nf(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))


def flops_per_token(model, layers, d, seq):
    n = sum(p.numel() for p in model.parameters())  # tied head counted once, used twice
    matmul = n - (model.wpe.weight.numel() if model.wpe is not None else 0)
    return 6 * matmul + 12 * layers * d * seq  # llm.c / PaLM appendix B accounting


def run(args, compiled):
    layers, d, heads, kvh, ffn, family, vocab, theta = load_shape(args.model)
    torch.manual_seed(0)
    model = LM(layers, d, heads, kvh, ffn, family, vocab, args.seq, theta).to(args.device)
    fused = {"fused": True} if args.device == "cuda" else {}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, **fused)
    step_fn = torch.compile(model) if compiled else model
    idx = torch.randint(0, vocab, (args.batch, args.seq), device=args.device)
    tgt = torch.randint(0, vocab, (args.batch, args.seq), device=args.device)
    amp = torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with amp:
            loss = step_fn(idx, tgt)
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    dt = (time.perf_counter() - t0) / args.steps
    tok_s = args.batch * args.seq / dt
    return tok_s, tok_s * flops_per_token(model, layers, d, args.seq)


def main():
    if not hasattr(F, "scaled_dot_product_attention"):
        sys.exit(f"pytorch_baseline.py needs PyTorch >= 2.0 (found {torch.__version__})")
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="gpt2-124m", choices=MODELS)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--device", default="cuda")
    p.add_argument("--peak-tflops", type=float, default=0.0,
                   help="for MFU; default: H100 SXM dense (67 fp32 / 989 bf16), A100 (19.5 / 312)")
    p.add_argument("--mode", default="both", choices=["both", "eager", "compile"])
    p.add_argument("--no-compile", action="store_true", help="the same as --mode eager")
    args = p.parse_args()
    if args.no_compile:
        args.mode = "eager"
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as in merino's fp32 mode
        name = torch.cuda.get_device_name()
        table = {"H100": (67.0, 989.0), "A100": (19.5, 312.0), "H200": (67.0, 989.0)}
        peak = next((v for k, v in table.items() if k in name), (0.0, 0.0))[args.dtype == "bf16"]
    else:
        name, peak = "cpu", 0.0
    peak = args.peak_tflops or peak
    vocab = load_shape(args.model)[6]
    print(f"device {name}, {args.model} (vocab {vocab:,}), B={args.batch}, T={args.seq}, {args.dtype}")
    for compiled in {"both": [False, True], "eager": [False], "compile": [True]}[args.mode]:
        tok_s, flops = run(args, compiled)
        mfu = f", MFU {100 * flops / (peak * 1e12):.1f}%" if peak else ""
        print(f"  pytorch {'torch.compile' if compiled else 'eager'}: {tok_s:,.0f} tokens/s, "
              f"{flops * 1e-12:.2f} TFLOP/s{mfu}")


if __name__ == "__main__":
    main()
