#!/usr/bin/env python3
"""cuDNN's (and FlashAttention's) fused causal attention through PyTorch's
scaled_dot_product_attention, on bench_cuda_attention's shapes, in bf16: the vendor reference
merino's attention kernels are measured against (cudnn_frontend, which a C++ cuDNN SDPA path
would need, is not installed on the build machines; PyTorch ships it). Prints one line per (backend, shape,
pass) with time and TFLOP/s counted as bench_cuda_attention counts them: forward
2 B H hd T (T + 1) useful causal FLOPs, forward + backward 3.5x that. Compare with
bench_cuda_attention's bf16 rows (variant 2 = merino v2; its forward + backward time is the sum
of its BM_AttentionForward and BM_AttentionBackward rows) from the same run of
scripts/gpu-check.sh; v2's goal is forward + backward within 1.2x of CUDNN_ATTENTION.

usage: python3 bench/pytorch_attention.py [--iters 20]
Not a CI dependency; needs a CUDA device and torch >= 2.3 (torch.nn.attention.sdpa_kernel).
"""
import argparse
import sys

import torch
import torch.nn.functional as F

SHAPES = [  # name, B, T, H, KVH, hd: bench_cuda_attention's shapes 0-4
    ("gpt2-124m", 8, 1024, 12, 12, 64),
    ("mobilellm-125m", 8, 1024, 9, 3, 64),
    ("merino-64m hd48", 8, 1024, 15, 15, 48),
    ("merino-64m hd96", 8, 1024, 10, 10, 96),
    ("hd128 gqa4", 4, 2048, 16, 4, 128),
]


def time_ms(fn, iters):
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("SKIPPED: no CUDA device")
        return 0
    from torch.nn.attention import SDPBackend, sdpa_kernel

    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16, causal")
    for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION):
        for name, B, T, H, KVH, hd in SHAPES:
            g = torch.Generator(device="cuda").manual_seed(0)
            q = torch.randn(B, H, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
            # grouped heads as the fused kernels take them: K/V repeated per query head (the
            # work per query head is the same as with shared K/V)
            k = torch.randn(B, KVH, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
            v = torch.randn(B, KVH, T, hd, device="cuda", dtype=torch.bfloat16, generator=g)
            k, v = k.repeat_interleave(H // KVH, 1), v.repeat_interleave(H // KVH, 1)
            q.requires_grad_(True), k.requires_grad_(True), v.requires_grad_(True)
            dout = torch.randn_like(q)
            flops_fwd = 2.0 * B * H * hd * T * (T + 1)

            def fwd():
                with torch.no_grad():
                    F.scaled_dot_product_attention(q, k, v, is_causal=True)

            def fwd_bwd():
                out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                torch.autograd.grad(out, (q, k, v), dout)

            with sdpa_kernel([backend]):
                for label, fn, flops in (("forward", fwd, flops_fwd),
                                         ("forward+backward", fwd_bwd, 3.5 * flops_fwd)):
                    try:
                        ms = time_ms(fn, args.iters)
                        print(f"{backend.name:16s} {name:16s} {label:17s} {ms:8.3f} ms "
                              f"{flops / ms / 1e9:7.1f} TFLOP/s")
                    except RuntimeError as e:  # a backend without a kernel for this shape
                        print(f"{backend.name:16s} {name:16s} {label:17s} unsupported: "
                              f"{str(e).splitlines()[0][:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
