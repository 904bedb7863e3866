// Causal multi-head attention with grouped-query heads, CPU reference.
// qkv rows are packed [q heads (H*hd) | k heads (KVH*hd) | v heads (KVH*hd)], the layout a
// single fused projection produces; query head h reads kv head h / (H / KVH) (H is a multiple
// of KVH; KVH == H is plain multi-head attention, KVH == 1 multi-query).
// Forward keeps only the row log-sum-exp (lse), never the T x T probabilities: backward
// recomputes them, the same contract a flash-attention GPU kernel has.
#pragma once

namespace merino::cpu {

// out[B, T, H*hd]; lse[B, H, T] = log sum_j exp(score_ij); scores scaled by 1/sqrt(hd)
template <class T>
void attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH, int hd);

// dqkv[B, T, (H + 2 KVH) hd] is written (=), k/v parts summed over the heads of each group
template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int B,
                        int Tn, int H, int KVH, int hd);

}  // namespace merino::cpu
