// The CPU implementation of Backend<T>: host memory, every op forwarded to the reference
// kernels in merino::cpu. Memory is zero-filled and 256-byte aligned (Arena::kAlign: whole cache
// lines and AVX-512 vectors, so rows of aligned width never straddle lines between threads),
// planned and reserved as on a GPU (kernels/device_memory.h).
// Optional per-op wall-time profile: enable_profile(true) makes each op add its elapsed time
// (seconds) to profile()[op name]; when disabled an op pays one predictable branch.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/bf16.h"

namespace merino {

template <class T>
struct CpuBackend final : Backend<T> {
  CpuBackend();
  std::string name() const override { return "cpu"; }

  void enable_profile(bool on) { profiling_ = on; }
  const std::map<std::string, double>& profile() const { return profile_; }
  void reset_profile() { profile_.clear(); }

  void* alloc_bytes(size_t bytes) override;
  void release(void* p) override;
  void reserve(const MemoryPlan& plan) override;
  MemoryUse memory_use() const override;
  void upload_bytes(void* dst, const void* host_src, size_t bytes) override;
  void download_bytes(void* host_dst, const void* src, size_t bytes) override;
  void zero_bytes(void* p, size_t bytes) override;
  void copy_bytes(void* dst, const void* src, size_t bytes) override;

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
  void residual_layernorm_forward(T* sum, T* out, T* mean, T* rstd, const T* a, const T* b,
                                  const T* weight, const T* bias, int N, int C, T eps) override;
  void residual_rmsnorm_forward(T* sum, T* out, T* rstd, const T* a, const T* b, const T* weight,
                                int N, int C, T eps) override;

  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                      int OC) override;
  void matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                       int N, int IC, int OC) override;
  void matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight, const T* bias, int N,
                           int IC, int OC) override;
  void matmul_gelu_backward(T* dpre, T* dweight, T* dbias, const T* dout, const T* inp,
                            const T* pre, const T* weight, int N, int IC, int OC) override;

  void attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH,
                         int hd) override;
  void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const T* lse, int B,
                          int Tn, int H, int KVH, int hd) override;
  void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                       int pos0) override;
  void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq,
                                int Tk, int cap, int H, int KVH, int hd) override;

  void gelu_forward(T* out, const T* inp, size_t n) override;
  void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) override;
  void relu_forward(T* out, const T* inp, size_t n) override;
  void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) override;
  void swiglu_forward(T* out, const T* inp, int N, int F) override;
  void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) override;

  void residual_forward(T* out, const T* a, const T* b, size_t n) override;
  void accumulate(T* dst, const T* src, size_t n) override;

  void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N, int V,
                            int ld, int32_t ignore_index) override;
  void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N, int V,
                                     int ld, int32_t ignore_index, T dloss_scale) override;

  void adamw_update(T* master, T* params, const T* grads, T* m, T* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override;
  void narrow(T* dst, const T* src, size_t n, const AdamWStep& step, size_t index_offset) override;
  double sum_squares(const T* x, size_t n) override;

 private:
  // the profile to charge, or null when profiling is off (what the per-op timer tests)
  std::map<std::string, double>* sink() { return profiling_ ? &profile_ : nullptr; }

  bool profiling_ = false;
  std::map<std::string, double> profile_;
  DeviceMemory mem_;
};

extern template struct CpuBackend<float>;
extern template struct CpuBackend<double>;

// Mixed precision on the CPU, the reference the CUDA bf16 backend is tested against and what
// CI trains bf16 with: every T buffer holds bf16, each op widens its bf16 inputs to fp32, runs
// the fp32 reference kernel, and rounds its T outputs to bf16 (round to nearest even) -- one
// rounding per stored value, as a GPU kernel that computes in fp32 does. Gradients, master
// weights, moments and statistics are fp32 and passed through untouched. The working copy is
// refreshed from the master with the stochastic rounding of kernels/bf16.h, bit for bit what
// the CUDA AdamW kernel writes. Slower than the fp32 backend (every op converts); it exists to
// define the numbers, not to train fast. Not thread-safe: ops share one pool of fp32 buffers.
template <>
struct CpuBackend<bf16> final : Backend<bf16> {
  std::string name() const override { return "cpu (bf16 emulated)"; }

  void* alloc_bytes(size_t bytes) override { return mem_.alloc_bytes(bytes); }
  void release(void* p) override { mem_.release(p); }
  void reserve(const MemoryPlan& plan) override { mem_.reserve(plan); }
  MemoryUse memory_use() const override { return mem_.memory_use(); }
  void upload_bytes(void* dst, const void* src, size_t bytes) override { mem_.upload_bytes(dst, src, bytes); }
  void download_bytes(void* dst, const void* src, size_t bytes) override { mem_.download_bytes(dst, src, bytes); }
  void zero_bytes(void* p, size_t bytes) override { mem_.zero_bytes(p, bytes); }
  void copy_bytes(void* dst, const void* src, size_t bytes) override { mem_.copy_bytes(dst, src, bytes); }

  void embedding_forward(bf16* out, const int32_t* tokens, const bf16* wte, const bf16* wpe, int B,
                         int Tn, int C, int pos_offset) override;
  void embedding_backward(float* dwte, float* dwpe, const bf16* dout, const int32_t* tokens, int B,
                          int Tn, int C, int pos_offset) override;

  void layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp, const bf16* weight,
                         const bf16* bias, int N, int C, float eps) override;
  void layernorm_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout,
                          const bf16* inp, const bf16* weight, const float* mean,
                          const float* rstd, int N, int C) override;
  void rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, const bf16* weight, int N, int C,
                       float eps) override;
  void rmsnorm_backward(bf16* dinp, float* dweight, const bf16* dout, const bf16* inp,
                        const bf16* weight, const float* rstd, int N, int C) override;
  void residual_layernorm_forward(bf16* sum, bf16* out, float* mean, float* rstd, const bf16* a,
                                  const bf16* b, const bf16* weight, const bf16* bias, int N,
                                  int C, float eps) override;
  void residual_rmsnorm_forward(bf16* sum, bf16* out, float* rstd, const bf16* a, const bf16* b,
                                const bf16* weight, int N, int C, float eps) override;

  void matmul_forward(bf16* out, const bf16* inp, const bf16* weight, const bf16* bias, int N,
                      int IC, int OC) override;
  void matmul_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                       const bf16* weight, int N, int IC, int OC) override;
  void matmul_gelu_forward(bf16* out, bf16* pre, const bf16* inp, const bf16* weight,
                           const bf16* bias, int N, int IC, int OC) override;
  void matmul_gelu_backward(bf16* dpre, float* dweight, float* dbias, const bf16* dout,
                            const bf16* inp, const bf16* pre, const bf16* weight, int N, int IC,
                            int OC) override;

  void attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int Tn, int H, int KVH,
                         int hd) override;
  void attention_backward(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                          const float* lse, int B, int Tn, int H, int KVH, int hd) override;
  void rope_forward(bf16* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_backward(bf16* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_forward_at(bf16* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                       int pos0) override;
  void attention_cached_forward(bf16* out, bf16* k_cache, bf16* v_cache, const bf16* qkv, int B,
                                int Tq, int Tk, int cap, int H, int KVH, int hd) override;

  void gelu_forward(bf16* out, const bf16* inp, size_t n) override;
  void gelu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) override;
  void relu_forward(bf16* out, const bf16* inp, size_t n) override;
  void relu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) override;
  void swiglu_forward(bf16* out, const bf16* inp, int N, int F) override;
  void swiglu_backward(bf16* dinp, const bf16* dout, const bf16* inp, int N, int F) override;

  void residual_forward(bf16* out, const bf16* a, const bf16* b, size_t n) override;
  void accumulate(bf16* dst, const bf16* src, size_t n) override;

  void crossentropy_forward(float* losses, const bf16* logits, const int32_t* targets, int N, int V,
                            int ld, int32_t ignore_index) override;
  void crossentropy_forward_backward(bf16* logits, float* losses, const int32_t* targets, int N,
                                     int V, int ld, int32_t ignore_index,
                                     float dloss_scale) override;

  void adamw_update(float* master, bf16* params, const float* grads, float* m, float* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override;
  void narrow(bf16* dst, const float* src, size_t n, const AdamWStep& step,
              size_t index_offset) override;
  double sum_squares(const float* x, size_t n) override;

 private:
  CpuBackend<float> mem_;  // host memory, shared with the fp32 backend
  std::vector<std::vector<float>> pool_;  // the ops' fp32 copies, reused op after op
};

}  // namespace merino
