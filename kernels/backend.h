// The one interface every compute device implements. Model code calls only these methods
// and holds only the pointers they hand out, so it never touches device memory directly;
// the CPU backend (cpu_backend.h) is the numerical reference the CUDA backend is tested against.
// T is the element type of parameters and activations: float for training on the CPU, double
// for gradient checks against finite differences. Semantics of each op (which outputs are
// written and which accumulated) are documented beside its CPU kernel in kernels/cpu/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/adamw_step.h"

namespace merino {

template <class T>
struct Backend {
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // memory: zero-filled on allocation
  virtual T* alloc(size_t n) = 0;
  virtual int32_t* alloc_index(size_t n) = 0;
  virtual void release(void* p) = 0;
  virtual void upload(T* dst, const T* host_src, size_t n) = 0;
  virtual void upload_index(int32_t* dst, const int32_t* host_src, size_t n) = 0;
  virtual void download(T* host_dst, const T* src, size_t n) = 0;
  virtual void zero(T* p, size_t n) = 0;

  virtual void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B,
                                 int Tn, int C, int pos_offset) = 0;
  virtual void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B,
                                  int Tn, int C, int pos_offset) = 0;

  virtual void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight,
                                 const T* bias, int N, int C, T eps) = 0;
  virtual void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                  const T* weight, const T* mean, const T* rstd, int N,
                                  int C) = 0;
  virtual void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C,
                               T eps) = 0;
  virtual void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                                const T* rstd, int N, int C) = 0;

  virtual void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                              int OC) = 0;
  virtual void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                               const T* weight, int N, int IC, int OC) = 0;

  virtual void attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH,
                                 int hd) = 0;
  virtual void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out,
                                  const T* lse, int B, int Tn, int H, int KVH, int hd) = 0;
  virtual void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) = 0;
  virtual void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) = 0;

  virtual void gelu_forward(T* out, const T* inp, size_t n) = 0;
  virtual void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) = 0;
  virtual void relu_forward(T* out, const T* inp, size_t n) = 0;
  virtual void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) = 0;
  virtual void swiglu_forward(T* out, const T* inp, int N, int F) = 0;
  virtual void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) = 0;

  virtual void residual_forward(T* out, const T* a, const T* b, size_t n) = 0;
  virtual void accumulate(T* dst, const T* src, size_t n) = 0;

  virtual void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N,
                                    int V, int32_t ignore_index) = 0;
  virtual void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N,
                                             int V, int32_t ignore_index, T dloss_scale) = 0;

  virtual void adamw_update(T* params, const T* grads, T* m, T* v, size_t n,
                            const AdamWStep& step) = 0;
  virtual double sum_squares(const T* x, size_t n) = 0;
};

}  // namespace merino
