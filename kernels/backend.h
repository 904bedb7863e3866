// The one interface every compute device implements. Model code calls only these methods
// and holds only the pointers they hand out, so it never touches device memory directly;
// the CPU backend (cpu_backend.h) is the numerical reference the CUDA backend is tested against.
// T is the element type of parameters and activations: float for fp32 training, bf16 for mixed
// precision, double for gradient checks against finite differences. A is acc_t<T> (bf16.h), the
// type of everything summed over many elements or steps: parameter gradients, master weights,
// AdamW moments, norm statistics, attention log-sum-exps, losses. For float and double A is T.
// Semantics of each op (which outputs are written and which accumulated) are documented beside
// its CPU kernel in kernels/cpu/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/adamw_step.h"
#include "kernels/bf16.h"
#include "kernels/device_memory.h"

namespace merino {

template <class T>
struct Backend {
  using A = acc_t<T>;
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // memory: zero-filled on allocation; copies to and from the host are complete on return
  virtual void* alloc_bytes(size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual void upload_bytes(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download_bytes(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void zero_bytes(void* p, size_t bytes) = 0;
  // device to device, ranges not overlapping (a KV cache's prefix forked into more rows)
  virtual void copy_bytes(void* dst, const void* src, size_t bytes) = 0;
  // Planned memory (kernels/device_memory.h): takes the plan's buffers, with this backend's own
  // workspaces for the plan's shapes, as one block that later allocations come from. Once per
  // backend, before the planned allocations; throws EnvironmentError, one line naming the sizes
  // and what the device or host has, when it cannot hold them (the caller adds what to lower).
  // Without it every allocation is made on its own.
  virtual void reserve(const MemoryPlan& plan) = 0;
  virtual MemoryUse memory_use() const = 0;

  template <class U>
  U* alloc_as(size_t n) { return static_cast<U*>(alloc_bytes(n * sizeof(U))); }
  T* alloc(size_t n) { return alloc_as<T>(n); }
  A* alloc_acc(size_t n) { return alloc_as<A>(n); }
  int32_t* alloc_index(size_t n) { return alloc_as<int32_t>(n); }
  template <class U>
  void upload(U* dst, const U* host_src, size_t n) { upload_bytes(dst, host_src, n * sizeof(U)); }
  template <class U>
  void download(U* host_dst, const U* src, size_t n) { download_bytes(host_dst, src, n * sizeof(U)); }
  template <class U>
  void zero(U* p, size_t n) { zero_bytes(p, n * sizeof(U)); }
  template <class U>
  void copy(U* dst, const U* src, size_t n) { copy_bytes(dst, src, n * sizeof(U)); }

  virtual void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B,
                                 int Tn, int C, int pos_offset) = 0;
  virtual void embedding_backward(A* dwte, A* dwpe, const T* dout, const int32_t* tokens, int B,
                                  int Tn, int C, int pos_offset) = 0;

  virtual void layernorm_forward(T* out, A* mean, A* rstd, const T* inp, const T* weight,
                                 const T* bias, int N, int C, A eps) = 0;
  virtual void layernorm_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                                  const T* weight, const A* mean, const A* rstd, int N,
                                  int C) = 0;
  virtual void rmsnorm_forward(T* out, A* rstd, const T* inp, const T* weight, int N, int C,
                               A eps) = 0;
  virtual void rmsnorm_backward(T* dinp, A* dweight, const T* dout, const T* inp, const T* weight,
                                const A* rstd, int N, int C) = 0;
  // The residual add fused with the norm that follows it: sum = a + b (as residual_forward),
  // then out, mean, rstd = the norm of sum as stored in T (as layernorm_forward /
  // rmsnorm_forward), reading each row once instead of twice. sum may alias a or b.
  virtual void residual_layernorm_forward(T* sum, T* out, A* mean, A* rstd, const T* a,
                                          const T* b, const T* weight, const T* bias, int N,
                                          int C, A eps) = 0;
  virtual void residual_rmsnorm_forward(T* sum, T* out, A* rstd, const T* a, const T* b,
                                        const T* weight, int N, int C, A eps) = 0;

  virtual void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                              int OC) = 0;
  virtual void matmul_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                               const T* weight, int N, int IC, int OC) = 0;
  // The GPT-2 MLP's first layer: pre = inp W^T + bias (as matmul_forward), out = gelu of that
  // product before it is stored in T (for float and double: gelu_forward of pre). One GEMM
  // with a bias + GELU epilogue on the GPU; pre is what gelu_backward takes.
  virtual void matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight, const T* bias,
                                   int N, int IC, int OC) = 0;
  // Its mirror in the backward pass of the layer reading the GELU (inp = gelu(pre), [N, IC]):
  // dweight, dbias accumulated as matmul_backward, and dpre = gelu_backward(dout W, pre), the
  // product not stored in T first (for float and double: matmul_backward into dpre, then
  // gelu_backward). One GEMM with a DGELU epilogue on the GPU.
  virtual void matmul_gelu_backward(T* dpre, A* dweight, A* dbias, const T* dout, const T* inp,
                                    const T* pre, const T* weight, int N, int IC, int OC) = 0;

  virtual void attention_forward(T* out, A* lse, const T* qkv, int B, int Tn, int H, int KVH,
                                 int hd) = 0;
  virtual void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out,
                                  const A* lse, int B, int Tn, int H, int KVH, int hd) = 0;
  virtual void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) = 0;
  virtual void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) = 0;
  // Incremental decoding over a key/value cache (model/kv_cache.h). rope_forward_at: as
  // rope_forward with row t of each sequence at position pos0 + t. attention_cached_forward:
  // Tq new tokens per sequence whose packed rows qkv[B, Tq, (H + 2 KVH) hd] hold RoPE'd q, k, v;
  // their k and v are first written to rows Tk - Tq .. Tk - 1 of k_cache, v_cache [B, cap,
  // KVH hd] (rows 0 .. Tk - Tq - 1 hold the earlier tokens), then query i, at position
  // Tk - Tq + i, attends causally to cached keys 0 .. Tk - Tq + i: out[B, Tq, H hd]. With
  // Tq == Tk, out equals attention_forward's. No lse: nothing runs backward through a cache.
  virtual void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                               int pos0) = 0;
  virtual void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B,
                                        int Tq, int Tk, int cap, int H, int KVH, int hd) = 0;

  virtual void gelu_forward(T* out, const T* inp, size_t n) = 0;
  virtual void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) = 0;
  virtual void relu_forward(T* out, const T* inp, size_t n) = 0;
  virtual void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) = 0;
  virtual void swiglu_forward(T* out, const T* inp, int N, int F) = 0;
  virtual void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) = 0;

  virtual void residual_forward(T* out, const T* a, const T* b, size_t n) = 0;
  virtual void accumulate(T* dst, const T* src, size_t n) = 0;

  // logits[N, ld]: V scored columns, then ld - V padding columns that take no probability (and
  // get a zero gradient): the model pads its vocabulary to an aligned width (docs/MODEL.md)
  virtual void crossentropy_forward(A* losses, const T* logits, const int32_t* targets, int N,
                                    int V, int ld, int32_t ignore_index) = 0;
  virtual void crossentropy_forward_backward(T* logits, A* losses, const int32_t* targets, int N,
                                             int V, int ld, int32_t ignore_index,
                                             A dloss_scale) = 0;

  // AdamW on n parameters: master, m, v updated in place. params is the working copy in T,
  // rewritten as the new master rounded with narrow()'s rule; null when there is none (T == A:
  // master is the parameters). index_offset: where the range starts in the model's flat
  // parameter buffer, so stochastic rounding gives each parameter its own random stream.
  virtual void adamw_update(A* master, T* params, const A* grads, A* m, A* v, size_t n,
                            const AdamWStep& step, size_t index_offset) = 0;
  // dst = src in T: for bf16, stochastic rounding with the stream of (step.round_seed,
  // step.step) -- exactly the copy adamw_update writes for that step; for T == A a plain copy.
  virtual void narrow(T* dst, const A* src, size_t n, const AdamWStep& step,
                      size_t index_offset) = 0;
  virtual double sum_squares(const A* x, size_t n) = 0;
};

}  // namespace merino
