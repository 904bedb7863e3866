#!/usr/bin/python3
"""Builds tests/interop/fixtures/: tiny Hugging Face model directories (config.json +
model.safetensors, random weights) and the logits an independent PyTorch implementation of the
transformers classes gives for a few prompts (reference.json). tests/interop/test_interop.cpp
imports each directory, checks merino's log-probabilities against these logits, and checks
that exporting the imported model gives back the very same tensor bytes and config values.

The three forward passes below follow transformers' modeling_gpt2.py (GPT2LMHeadModel),
modeling_opt.py (OPTForCausalLM) and modeling_llama.py (LlamaForCausalLM) as of v4.45: Conv1D
weights [in, out], GELU "gelu_new" (tanh), attention scaled by 1/sqrt(head_dim); OPT's learned
positions read row t + 2, q is scaled before the product, ReLU, post-attention
"final_layer_norm" per layer; LLaMA's RMSNorm x * rsqrt(mean(x^2) + eps) * w, rotate-half RoPE
with inv_freq = theta^(-2i/d) over cat(freqs, freqs), grouped-query heads (kv head j serves
query heads j*n_rep .. j*n_rep + n_rep - 1), SiLU(gate) * up. Everything runs in float64 on
the float32 weights, so the reference carries no rounding of its own worth speaking of.

llama_repeat is the export of a merino `layers: 2, repeat: 2` model: HF layers 0 and 1 are one
parameter set, 2 and 3 the next.

Run with Debian's python3-torch (transformers is not needed):
  /usr/bin/python3 scripts/make_interop_fixtures.py [OUT_DIR]
Output is deterministic (seeded generator)."""
import json
import math
import os
import struct
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "interop", "fixtures")
VOCAB, CTX = 64, 16
PROMPTS = [[(7 * i + 3) % VOCAB for i in range(CTX)], [1, 60, 2, 33, 33, 9, 41]]


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 tensor), in file order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Weights:
    """Random tensors, recorded in creation order; read back in float64."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.items = []

    def _add(self, name, t):
        self.items.append((name, t.to(torch.float32)))
        return t.to(torch.float32).double()

    def normal(self, name, shape, std=0.3):
        return self._add(name, torch.randn(shape, generator=self.g, dtype=torch.float64) * std)

    def norm(self, name, n):
        return self._add(name, 1 + 0.1 * torch.randn(n, generator=self.g, dtype=torch.float64))

    def copy(self, name, value):
        return self._add(name, value)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def attention(q, k, v):
    """q: [H, T, hd], k, v: [H, T, hd] (kv already repeated), causal."""
    T, hd = q.shape[1], q.shape[2]
    scores = q @ k.transpose(1, 2) / math.sqrt(hd)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


def heads(x, n):
    T = x.shape[0]
    return x.view(T, n, -1).transpose(0, 1)


def merge(x):
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def gpt2(cfg, w, ids):
    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    t = torch.tensor(ids)
    h = w["transformer.wte.weight"][t] + w["transformer.wpe.weight"][torch.arange(len(ids))]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        a = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x W + b
        q, k, v = qkv.split(C, -1)
        o = merge(attention(heads(q, H), heads(k, H), heads(v, H)))
        h = h + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        h = h + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    head = w["transformer.wte.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return h @ head.T


def linear(x, w, p):
    y = x @ w[p + ".weight"].T
    return y + w[p + ".bias"] if p + ".bias" in w else y


def opt(cfg, w, ids):
    H, eps = cfg["num_attention_heads"], 1e-5  # OPT's LayerNorm keeps torch's default eps
    hd = cfg["hidden_size"] // H
    t = torch.tensor(ids)
    h = w["model.decoder.embed_tokens.weight"][t] + w["model.decoder.embed_positions.weight"][torch.arange(len(ids)) + 2]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.decoder.layers.{i}."
        a = layer_norm(h, w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"], eps)
        q = linear(a, w, p + "self_attn.q_proj") * hd**-0.5
        k, v = linear(a, w, p + "self_attn.k_proj"), linear(a, w, p + "self_attn.v_proj")
        # OPT scales q before the product, so the scores take no second scale
        scores = heads(q, H) @ heads(k, H).transpose(1, 2)
        mask = torch.triu(torch.ones(len(ids), len(ids), dtype=torch.bool), 1)
        o = merge(torch.softmax(scores.masked_fill(mask, float("-inf")), -1) @ heads(v, H))
        h = h + linear(o, w, p + "self_attn.out_proj")
        m = layer_norm(h, w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"], eps)
        h = h + linear(torch.relu(linear(m, w, p + "fc1")), w, p + "fc2")
    h = layer_norm(h, w["model.decoder.final_layer_norm.weight"], w["model.decoder.final_layer_norm.bias"], eps)
    head = w["model.decoder.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return h @ head.T


def rms_norm(x, weight, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), -1)


def llama(cfg, w, ids):
    H, KV, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    hd = cfg["hidden_size"] // H
    T = len(ids)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    h = w["model.embed_tokens.weight"][torch.tensor(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = heads(linear(a, w, p + "self_attn.q_proj"), H)
        k = heads(linear(a, w, p + "self_attn.k_proj"), KV)
        v = heads(linear(a, w, p + "self_attn.v_proj"), KV)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)  # repeat_kv
        h = h + linear(merge(attention(q, k, v)), w, p + "self_attn.o_proj")
        m = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(m, w, p + "mlp.gate_proj")
        h = h + linear(gate * torch.sigmoid(gate) * linear(m, w, p + "mlp.up_proj"), w, p + "mlp.down_proj")
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return h @ head.T


def make_gpt2(seed):
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB,
           "n_positions": CTX, "n_ctx": CTX, "n_embd": 16, "n_layer": 2, "n_head": 4, "n_inner": 40,
           "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "scale_attn_weights": True,
           "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
           "tie_word_embeddings": True}
    W, C, F = Weights(seed), cfg["n_embd"], cfg["n_inner"]
    w = {"transformer.wte.weight": W.normal("transformer.wte.weight", (VOCAB, C)),
         "transformer.wpe.weight": W.normal("transformer.wpe.weight", (CTX, C))}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        for name, shape in [("ln_1", C), ("attn.c_attn", (C, 3 * C)), ("attn.c_proj", (C, C)), ("ln_2", C),
                            ("mlp.c_fc", (C, F)), ("mlp.c_proj", (F, C))]:
            if name.startswith("ln"):
                w[p + name + ".weight"] = W.norm(p + name + ".weight", C)
                w[p + name + ".bias"] = W.normal(p + name + ".bias", (C,), 0.1)
            else:
                w[p + name + ".weight"] = W.normal(p + name + ".weight", shape)
                w[p + name + ".bias"] = W.normal(p + name + ".bias", (shape[1],), 0.1)
    w["transformer.ln_f.weight"] = W.norm("transformer.ln_f.weight", C)
    w["transformer.ln_f.bias"] = W.normal("transformer.ln_f.bias", (C,), 0.1)
    return cfg, W.items, w, gpt2


def make_opt(seed):
    cfg = {"architectures": ["OPTForCausalLM"], "model_type": "opt", "vocab_size": VOCAB, "hidden_size": 16,
           "word_embed_proj_dim": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "ffn_dim": 40,
           "max_position_embeddings": CTX, "activation_function": "relu", "do_layer_norm_before": True,
           "_remove_final_layer_norm": False, "enable_bias": True, "layer_norm_elementwise_affine": True,
           "tie_word_embeddings": False}
    W, C, F = Weights(seed), cfg["hidden_size"], cfg["ffn_dim"]
    w = {"model.decoder.embed_tokens.weight": W.normal("model.decoder.embed_tokens.weight", (VOCAB, C)),
         "model.decoder.embed_positions.weight": W.normal("model.decoder.embed_positions.weight", (CTX + 2, C))}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.decoder.layers.{i}."
        for name, out, inp in [("self_attn.q_proj", C, C), ("self_attn.k_proj", C, C), ("self_attn.v_proj", C, C),
                               ("self_attn.out_proj", C, C), ("fc1", F, C), ("fc2", C, F)]:
            w[p + name + ".weight"] = W.normal(p + name + ".weight", (out, inp))
            w[p + name + ".bias"] = W.normal(p + name + ".bias", (out,), 0.1)
        for name in ["self_attn_layer_norm", "final_layer_norm"]:
            w[p + name + ".weight"] = W.norm(p + name + ".weight", C)
            w[p + name + ".bias"] = W.normal(p + name + ".bias", (C,), 0.1)
    w["model.decoder.final_layer_norm.weight"] = W.norm("model.decoder.final_layer_norm.weight", C)
    w["model.decoder.final_layer_norm.bias"] = W.normal("model.decoder.final_layer_norm.bias", (C,), 0.1)
    w["lm_head.weight"] = W.normal("lm_head.weight", (VOCAB, C))
    return cfg, W.items, w, opt


def make_llama(seed, layers, repeat, tied, theta, eps):
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB, "hidden_size": 16,
           "intermediate_size": 24, "num_hidden_layers": layers * repeat, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 4, "hidden_act": "silu", "max_position_embeddings": CTX,
           "rms_norm_eps": eps, "rope_theta": theta, "rope_scaling": None, "attention_bias": False,
           "mlp_bias": False, "tie_word_embeddings": tied}
    W, C, F, KVD = Weights(seed), 16, 24, 8
    w = {"model.embed_tokens.weight": W.normal("model.embed_tokens.weight", (VOCAB, C))}
    for s in range(layers):
        own = {}
        for name, out, inp in [("self_attn.q_proj", C, C), ("self_attn.k_proj", KVD, C),
                               ("self_attn.v_proj", KVD, C), ("self_attn.o_proj", C, C),
                               ("mlp.gate_proj", F, C), ("mlp.up_proj", F, C), ("mlp.down_proj", C, F)]:
            own[name + ".weight"] = torch.randn((out, inp), generator=W.g, dtype=torch.float64) * 0.3
        for name in ["input_layernorm", "post_attention_layernorm"]:
            own[name + ".weight"] = 1 + 0.1 * torch.randn(C, generator=W.g, dtype=torch.float64)
        for r in range(repeat):  # a repeated layer is stored once per execution
            p = f"model.layers.{s * repeat + r}."
            for name, value in own.items():
                w[p + name] = W.copy(p + name, value)
    w["model.norm.weight"] = W.norm("model.norm.weight", C)
    if not tied:
        w["lm_head.weight"] = W.normal("lm_head.weight", (VOCAB, C))
    return cfg, W.items, w, llama


def main():
    fixtures = {
        "gpt2": make_gpt2(1),
        "opt": make_opt(2),
        "llama_gqa": make_llama(3, layers=2, repeat=1, tied=False, theta=500.0, eps=1e-6),
        "llama_repeat": make_llama(4, layers=2, repeat=2, tied=True, theta=10000.0, eps=1e-5),
    }
    for name, (cfg, items, weights, forward) in fixtures.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        write_safetensors(os.path.join(d, "model.safetensors"), items)
        logits = [[[round(float(x), 9) for x in row] for row in forward(cfg, weights, p)] for p in PROMPTS]
        ref = {"reference": f"scripts/make_interop_fixtures.py, torch {torch.__version__}, float64",
               "prompts": PROMPTS, "logits": logits}
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
            f.write("\n")
        print(f"{d}: {len(items)} tensors")


if __name__ == "__main__":
    main()
