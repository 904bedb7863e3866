// The CPU implementation of Backend<T>: host memory, every op forwarded to the reference
// kernels in merino::cpu. Memory is zero-filled and 64-byte aligned (one cache line, one
// AVX-512 vector), so rows of aligned width never straddle lines between threads.
// Optional per-op wall-time profile: enable_profile(true) makes each op add its elapsed time
// (seconds) to profile()[op name]; when disabled an op pays one predictable branch.
#pragma once
#include <map>
#include <string>

#include "kernels/backend.h"

namespace merino {

template <class T>
struct CpuBackend final : Backend<T> {
  std::string name() const override { return "cpu"; }

  void enable_profile(bool on) { profiling_ = on; }
  const std::map<std::string, double>& profile() const { return profile_; }
  void reset_profile() { profile_.clear(); }

  T* alloc(size_t n) override;
  int32_t* alloc_index(size_t n) override;
  void release(void* p) override;
  void upload(T* dst, const T* host_src, size_t n) override;
  void upload_index(int32_t* dst, const int32_t* host_src, size_t n) override;
  void download(T* host_dst, const T* src, size_t n) override;
  void zero(T* p, size_t n) override;

  void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                         int C, int pos_offset) override;
  void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                          int C, int pos_offset) override;

  void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                         int N, int C, T eps) override;
  void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                          const T* weight, const T* mean, const T* rstd, int N, int C) override;
  void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C,
                       T eps) override;
  void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                        const T* rstd, int N, int C) override;

  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                      int OC) override;
  void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                       int N, int IC, int OC) override;

  void attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH,
                         int hd) override;
  void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int B,
                          int Tn, int H, int KVH, int hd) override;
  void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override;

  void gelu_forward(T* out, const T* inp, size_t n) override;
  void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) override;
  void relu_forward(T* out, const T* inp, size_t n) override;
  void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) override;
  void swiglu_forward(T* out, const T* inp, int N, int F) override;
  void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) override;

  void residual_forward(T* out, const T* a, const T* b, size_t n) override;
  void accumulate(T* dst, const T* src, size_t n) override;

  void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N, int V,
                            int32_t ignore_index) override;
  void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N, int V,
                                     int32_t ignore_index, T dloss_scale) override;

  void adamw_update(T* params, const T* grads, T* m, T* v, size_t n,
                    const AdamWStep& step) override;
  double sum_squares(const T* x, size_t n) override;

 private:
  // the profile to charge, or null when profiling is off (what the per-op timer tests)
  std::map<std::string, double>* sink() { return profiling_ ? &profile_ : nullptr; }

  bool profiling_ = false;
  std::map<std::string, double> profile_;
};

extern template struct CpuBackend<float>;
extern template struct CpuBackend<double>;

}  // namespace merino
