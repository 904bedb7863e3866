// Causal attention of a few new tokens over a key/value cache (incremental decoding), CPU
// reference; the semantics are Backend::attention_cached_forward's (kernels/backend.h).
// qkv rows are packed as attention.h's ([q heads | k heads | v heads], query head h reads kv
// head h / (H / KVH)); the cache keeps only the k and v heads, [B, cap, KVH * hd] each, so a
// grouped-query model caches KVH heads, not H.
#pragma once

namespace merino::cpu {

// Writes the Tq new tokens' k and v to cache rows Tk - Tq .. Tk - 1, then
// out[B, Tq, H*hd] = softmax(q k^T / sqrt(hd)) v over keys 0 .. Tk - Tq + i for query i.
template <class T>
void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq, int Tk,
                              int cap, int H, int KVH, int hd);

}  // namespace merino::cpu
