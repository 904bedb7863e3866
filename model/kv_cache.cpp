#include "model/kv_cache.h"

#include <stdexcept>
#include <string>

namespace merino {

template <class T>
KVCache<T>::KVCache(Backend<T>& be, const ModelConfig& cfg, int rows, int cap)
    : backend(be), batch(rows), capacity(cap) {
  if (rows < 1 || cap < 1 || cap > cfg.context_length)
    throw std::invalid_argument("KVCache: " + std::to_string(rows) + " rows of " +
                                std::to_string(cap) + " positions (capacity must be in [1, " +
                                std::to_string(cfg.context_length) + "], the context length)");
  // the order Model executes layers in: blocks in order, each layer `repeat` times
  for (const BlockConfig& b : cfg.blocks)
    for (int e = 0; e < b.executed_layers(); ++e) {
      Layer l;
      l.width = b.n_kv_heads * b.head_dim();
      const size_t n = size_t(rows) * size_t(cap) * size_t(l.width);
      l.k = be.alloc(n);
      l.v = be.alloc(n);
      layers.push_back(l);
    }
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
