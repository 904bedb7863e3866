// The two sub-layers of a transformer layer's forward pass as free functions over a Backend, so
// that Model::forward and the search's latency timer (search/op_timer.cpp) issue one and the
// same op sequence: the timer measures exactly what the model runs. Each sub-layer ends with
// its residual add, fused with the norm that reads the sum (pre-norm, as GPT-2 and LLaMA).
#pragma once
#include "kernels/backend.h"
#include "model/config.h"

namespace merino {

// The architecture choices a sub-layer's op sequence depends on (from ModelConfig).
struct SublayerKinds {
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  ActivationKind activation = ActivationKind::GELU;
  bool rope = false;
  double rope_theta = 10000.0;
};
SublayerKinds sublayer_kinds(const ModelConfig& cfg);

// One norm application: its parameters and where it writes (bias and mean null for RMSNorm).
template <class T>
struct NormSite {
  const T* weight = nullptr;
  const T* bias = nullptr;
  T* out = nullptr;
  acc_t<T>* mean = nullptr;
  acc_t<T>* rstd = nullptr;
};

template <class T>
void norm_forward(Backend<T>& be, const SublayerKinds& k, const NormSite<T>& n, const T* x, int N,
                  int C);
// sum = a + b, then the norm of sum (the residual add fused with the norm after it)
template <class T>
void residual_norm_forward(Backend<T>& be, const SublayerKinds& k, const NormSite<T>& n, T* sum,
                           const T* a, const T* b, int N, int C);

// Attention over B sequences of Tn tokens of width C: out = x + o(attention(rope?(qkv(normed)))),
// then `next` (the FFN's input norm) of out. Biases may be null.
struct AttentionDims {
  int B = 1, Tn = 1, C = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
};
template <class T>
struct AttentionWeights {
  const T *qkv_w = nullptr, *qkv_b = nullptr, *o_w = nullptr, *o_b = nullptr;
};
template <class T>
struct AttentionActs {
  T* qkv = nullptr;         // [N, (n_heads + 2 n_kv_heads) head_dim], after RoPE
  T* att = nullptr;         // [N, n_heads head_dim]
  acc_t<T>* lse = nullptr;  // [N, n_heads]
  T* out = nullptr;         // [N, C]: the residual sum
};
// With a cache (incremental decoding, model/kv_cache.h) the Tn tokens sit at positions
// past .. past + Tn - 1: RoPE rotates them there, their k and v are appended to the cache and
// the queries attend over the whole cached prefix (Backend::attention_cached_forward); a.lse is
// not written. Without one, the tokens are positions 0 .. Tn - 1 of their own sequences.
template <class T>
struct AttentionCache {
  T *k = nullptr, *v = nullptr;  // [B, capacity, n_kv_heads head_dim] each
  int past = 0, capacity = 0;
};
template <class T>
void forward_attention_sublayer(Backend<T>& be, const SublayerKinds& k, const AttentionDims& d,
                                const AttentionWeights<T>& w, const T* x, const T* normed,
                                const AttentionActs<T>& a, const NormSite<T>& next,
                                const AttentionCache<T>* cache = nullptr);

// The MLP over N tokens of width C, hidden width F (per branch for SwiGLU):
// out = x + proj(act(fc(normed))), then `next` of out; with `next` null (a width projection
// reads out) the residual add alone. Biases may be null.
template <class T>
struct FfnWeights {
  const T *fc_w = nullptr, *fc_b = nullptr, *proj_w = nullptr, *proj_b = nullptr;
};
template <class T>
struct FfnActs {
  T* h = nullptr;    // [N, F] (SwiGLU: [N, 2F]): fc's output, the activation's input
  T* a = nullptr;    // [N, F]: the activation's output
  T* out = nullptr;  // [N, C]: the residual sum
};
template <class T>
void forward_ffn_sublayer(Backend<T>& be, const SublayerKinds& k, int N, int C, int F,
                          const FfnWeights<T>& w, const T* x, const T* normed, const FfnActs<T>& a,
                          const NormSite<T>* next);

}  // namespace merino
