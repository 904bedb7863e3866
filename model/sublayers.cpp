#include "model/sublayers.h"

namespace merino {

SublayerKinds sublayer_kinds(const ModelConfig& cfg) {
  SublayerKinds k;
  k.norm = cfg.norm;
  k.norm_eps = cfg.norm_eps;
  k.activation = cfg.activation;
  k.rope = cfg.position == PositionKind::RoPE;
  k.rope_theta = cfg.rope_theta;
  return k;
}

template <class T>
void norm_forward(Backend<T>& be, const SublayerKinds& k, const NormSite<T>& n, const T* x, int N,
                  int C) {
  const acc_t<T> eps = acc_t<T>(k.norm_eps);
  if (k.norm == NormKind::LayerNorm)
    be.layernorm_forward(n.out, n.mean, n.rstd, x, n.weight, n.bias, N, C, eps);
  else
    be.rmsnorm_forward(n.out, n.rstd, x, n.weight, N, C, eps);
}

template <class T>
void residual_norm_forward(Backend<T>& be, const SublayerKinds& k, const NormSite<T>& n, T* sum,
                           const T* a, const T* b, int N, int C) {
  const acc_t<T> eps = acc_t<T>(k.norm_eps);
  if (k.norm == NormKind::LayerNorm)
    be.residual_layernorm_forward(sum, n.out, n.mean, n.rstd, a, b, n.weight, n.bias, N, C, eps);
  else
    be.residual_rmsnorm_forward(sum, n.out, n.rstd, a, b, n.weight, N, C, eps);
}

template <class T>
void forward_attention_sublayer(Backend<T>& be, const SublayerKinds& k, const AttentionDims& d,
                                const AttentionWeights<T>& w, const T* x, const T* normed,
                                const AttentionActs<T>& a, const NormSite<T>& next,
                                const AttentionCache<T>* cache) {
  const int N = d.B * d.Tn, H = d.n_heads, KVH = d.n_kv_heads, hd = d.head_dim;
  be.matmul_forward(a.qkv, normed, w.qkv_w, w.qkv_b, N, d.C, (H + 2 * KVH) * hd);
  if (cache) {
    if (k.rope) be.rope_forward_at(a.qkv, d.B, d.Tn, H, KVH, hd, k.rope_theta, cache->past);
    be.attention_cached_forward(a.att, cache->k, cache->v, a.qkv, d.B, d.Tn, cache->past + d.Tn,
                                cache->capacity, H, KVH, hd);
  } else {
    if (k.rope) be.rope_forward(a.qkv, d.B, d.Tn, H, KVH, hd, k.rope_theta);
    be.attention_forward(a.att, a.lse, a.qkv, d.B, d.Tn, H, KVH, hd);
  }
  be.matmul_forward(a.out, a.att, w.o_w, w.o_b, N, H * hd, d.C);
  residual_norm_forward(be, k, next, a.out, a.out, x, N, d.C);
}

template <class T>
void forward_ffn_sublayer(Backend<T>& be, const SublayerKinds& k, int N, int C, int F,
                          const FfnWeights<T>& w, const T* x, const T* normed, const FfnActs<T>& a,
                          const NormSite<T>* next) {
  switch (k.activation) {
    case ActivationKind::GELU:  // one GEMM with a GELU epilogue where the device has one
      be.matmul_gelu_forward(a.a, a.h, normed, w.fc_w, w.fc_b, N, C, F);
      break;
    case ActivationKind::ReLU:
      be.matmul_forward(a.h, normed, w.fc_w, w.fc_b, N, C, F);
      be.relu_forward(a.a, a.h, size_t(N) * F);
      break;
    case ActivationKind::SwiGLU:
      be.matmul_forward(a.h, normed, w.fc_w, w.fc_b, N, C, 2 * F);
      be.swiglu_forward(a.a, a.h, N, F);
      break;
  }
  be.matmul_forward(a.out, a.a, w.proj_w, w.proj_b, N, F, C);
  if (next)
    residual_norm_forward(be, k, *next, a.out, a.out, x, N, C);
  else
    be.residual_forward(a.out, a.out, x, size_t(N) * C);
}

#define MERINO_SUBLAYERS(T)                                                                        \
  template void norm_forward(Backend<T>&, const SublayerKinds&, const NormSite<T>&, const T*, int, \
                             int);                                                                 \
  template void residual_norm_forward(Backend<T>&, const SublayerKinds&, const NormSite<T>&, T*,   \
                                      const T*, const T*, int, int);                               \
  template void forward_attention_sublayer(                                                        \
      Backend<T>&, const SublayerKinds&, const AttentionDims&, const AttentionWeights<T>&,         \
      const T*, const T*, const AttentionActs<T>&, const NormSite<T>&,                             \
      const AttentionCache<T>*);                                                                   \
  template void forward_ffn_sublayer(Backend<T>&, const SublayerKinds&, int, int, int,             \
                                     const FfnWeights<T>&, const T*, const T*, const FfnActs<T>&,  \
                                     const NormSite<T>*);
MERINO_SUBLAYERS(float)
MERINO_SUBLAYERS(double)
MERINO_SUBLAYERS(bf16)
#undef MERINO_SUBLAYERS

}  // namespace merino
