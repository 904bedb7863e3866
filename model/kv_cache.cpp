#include "model/kv_cache.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace merino {

namespace {

// k and v widths (n_kv_heads * head_dim) of the executed layers, in the order Model executes
// them: blocks in order, each layer `repeat` times
std::vector<int> executed_kv_widths(const ModelConfig& cfg) {
  std::vector<int> widths;
  for (const BlockConfig& b : cfg.blocks)
    for (int e = 0; e < b.executed_layers(); ++e) widths.push_back(b.n_kv_heads * b.head_dim());
  return widths;
}

}  // namespace

template <class T>
KVCache<T>::KVCache(Backend<T>& be, const ModelConfig& cfg, int rows, int cap)
    : backend(be), batch(rows), capacity(cap) {
  if (rows < 1 || cap < 1 || cap > cfg.context_length)
    throw std::invalid_argument("KVCache: " + std::to_string(rows) + " rows of " +
                                std::to_string(cap) + " positions (capacity must be in [1, " +
                                std::to_string(cfg.context_length) + "], the context length)");
  for (int width : executed_kv_widths(cfg)) {
    Layer l;
    l.width = width;
    const size_t n = size_t(rows) * size_t(cap) * size_t(width);
    l.k = be.alloc(n);
    l.v = be.alloc(n);
    layers.push_back(l);
  }
}

template <class T>
void KVCache<T>::add_to_plan(MemoryPlan& plan, const ModelConfig& cfg, int rows, int cap) {
  for (int width : executed_kv_widths(cfg))
    for (int kv = 0; kv < 2; ++kv)
      plan.add("KV cache", size_t(rows) * size_t(cap) * size_t(width) * sizeof(T));
}

template <class T>
KVCache<T>::~KVCache() {
  for (Layer& l : layers) {
    backend.release(l.k);
    backend.release(l.v);
  }
}

template <class T>
void KVCache<T>::copy_prefix_from(const KVCache& src, int src_row, int n, int first, int count) {
  if (count < 0) count = batch - first;
  if (src.layers.size() != layers.size() || src_row < 0 || src_row >= src.batch || n < 0 ||
      n > src.length || n > capacity || first < 0 || first > batch || first + count > batch)
    throw std::invalid_argument("KVCache::copy_prefix_from: cannot copy " + std::to_string(n) +
                                " positions of row " + std::to_string(src_row) +
                                " (source: " + std::to_string(src.batch) + " rows, " +
                                std::to_string(src.length) + " positions; destination capacity " +
                                std::to_string(capacity) + ", rows " + std::to_string(first) +
                                " .. " + std::to_string(first + count - 1) + ")");
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& s = src.layers[i];
    const Layer& d = layers[i];
    if (s.width != d.width)
      throw std::invalid_argument(
          "KVCache::copy_prefix_from: the caches belong to different models");
    const size_t len = size_t(n) * size_t(d.width);
    const T* sk = s.k + size_t(src_row) * size_t(src.capacity) * size_t(s.width);
    const T* sv = s.v + size_t(src_row) * size_t(src.capacity) * size_t(s.width);
    for (int r = first; r < first + count; ++r) {
      T* dk = d.k + size_t(r) * size_t(capacity) * size_t(d.width);
      if (dk == sk) continue;  // the source row itself
      backend.copy(dk, sk, len);
      backend.copy(d.v + size_t(r) * size_t(capacity) * size_t(d.width), sv, len);
    }
  }
  length = n;
}

template struct KVCache<float>;
template struct KVCache<double>;
template struct KVCache<bf16>;

}  // namespace merino
