// The key/value cache of incremental decoding (Model::forward_cached), owned by the caller.
// Per executed layer -- each run of a `repeat: N` layer has its own entry, in execution order --
// the k and v heads of the first `length` positions of `batch` sequences, as two device buffers
// [batch, capacity, n_kv_heads * head_dim] (a grouped-query model caches its KVH heads, not H;
// k after RoPE). Every row holds the same number of positions.
//
// Scoring B continuations of one shared context (the prefix reuse of eval tasks):
//   KVCache<T> ctx(be, cfg, 1, capacity);      // capacity >= context + longest continuation
//   model.forward_cached(ctx, context, 1, n, n - 1);  // the context runs once, head: last row
//   KVCache<T> many(be, cfg, B, capacity);
//   many.copy_prefix_from(ctx, 0, n);          // every row starts from the context's k/v
//   const T* logits = model.forward_cached(many, continuations, B, m);
// continuations are [B, m], shorter ones padded at the end with any valid token: causal
// attention keeps padding from changing the rows before it. Logit row (b, i) predicts the token
// after continuation position i (the context's one logit row, its last position's, predicts the
// first one). A cache of B rows may also run its context with B = 1 and fork itself:
// copy_prefix_from(*this, 0, n).
#pragma once
#include <vector>

#include "kernels/backend.h"
#include "model/config.h"

namespace merino {

template <class T>
struct KVCache {
  struct Layer {
    T* k = nullptr;
    T* v = nullptr;
    int width = 0;  // n_kv_heads * head_dim of the layer
  };

  // batch rows of `capacity` positions each (at most the model's context_length); length 0
  KVCache(Backend<T>& backend, const ModelConfig& cfg, int batch, int capacity);
  ~KVCache();
  // What such a cache takes, added to `plan` as part "KV cache" buffer by buffer, as the
  // constructor allocates them: a caller that reserves memory up front counts the cache too.
  static void add_to_plan(MemoryPlan& plan, const ModelConfig& cfg, int batch, int capacity);
  KVCache(const KVCache&) = delete;
  KVCache& operator=(const KVCache&) = delete;

  // Rows first .. first + count - 1 of this cache (count < 0: through the last row; by default
  // every row) get positions 0 .. n - 1 of row src_row of src (src may be this cache: the source
  // row is skipped), and length becomes n. src must be a cache of the same model with n <=
  // src.length and n <= capacity. A range forks each context of one batched run into its own
  // rows; rows outside it keep what they held.
  void copy_prefix_from(const KVCache& src, int src_row, int n, int first = 0, int count = -1);

  Backend<T>& backend;
  int batch = 0, capacity = 0;
  int length = 0;  // positions cached, the same for every row; 0 forgets them
  std::vector<Layer> layers;
};

}  // namespace merino
