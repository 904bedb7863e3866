// The CUDA implementation of Backend<T>: device memory, one stream, every op forwarded to the
// kernels in kernels/cuda, tested as a whole model against the CPU backend
// (tests/cuda/test_cuda_backend.cpp). Two modes:
//   CudaBackend<float>: fp32 training, everything fp32 (GEMMs in true fp32, no TF32).
//   CudaBackend<bf16>:  mixed precision. Parameters (the working copy) and activations, with
//     their gradients, are bf16 and the GEMMs run on bf16 tensor cores with fp32 accumulation;
//     parameter gradients, fp32 master weights, AdamW moments, norm statistics, attention
//     log-sum-exps and losses are fp32 (acc_t, kernels/bf16.h). AdamW updates the masters and
//     rewrites the working copy by stochastic rounding; narrow() does that rounding alone.
//     merino::bf16 and CUDA's __nv_bfloat16 have the same bits, so the backend hands bf16
//     buffers to the kernels as they are.
// Ops are asynchronous on the backend's stream; download_bytes() and sum_squares() wait for it,
// which is where the host sees results.
// Memory: a training run reserves its planned buffers and the kernels' scratch (norm, attention
// and embedding backward, gradient norm) for its shapes as one block up front (reserve(),
// kernels/device_memory.h), so no step allocates; cuBLASLt's workspace is allocated once beside
// it. Without reserve() (the kernel tests) buffers are allocated one by one and the scratch grows
// to the largest shape seen.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"
#include "kernels/bf16.h"
#include "kernels/cuda/attention_kernel.h"

namespace merino {

template <class T>
class CudaBackend final : public Backend<T> {
 public:
  using A = acc_t<T>;

  // Uses `device` (e.g. the local rank). Throws std::runtime_error when it cannot be used.
  // `attention` picks the attention kernels (`run.attention`; fp32 runs v1's either way).
  explicit CudaBackend(int device = 0, cuda::AttentionKernel attention = cuda::AttentionKernel::v2);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;
  // Peak FLOP/s of the units this mode's GEMMs run on, from the SM count, the clock and the
  // per-SM rate of the architecture; MFU is measured against it. float: the fp32 CUDA cores
  // (no TF32); bf16: the dense bf16 tensor cores.
  double peak_flops() const;
  // The cudaStream_t every op is queued on (void*, keeping CUDA headers out of this header): the
  // NCCL communicator orders its collectives after the work queued there.
  void* stream_handle() const;

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
  void embedding_backward(A* dwte, A* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                          int C, int pos_offset) override;

  void layernorm_forward(T* out, A* mean, A* rstd, const T* inp, const T* weight, const T* bias,
                         int N, int C, A eps) override;
  void layernorm_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                          const T* weight, const A* mean, const A* rstd, int N, int C) override;
  void rmsnorm_forward(T* out, A* rstd, const T* inp, const T* weight, int N, int C,
                       A eps) override;
  void rmsnorm_backward(T* dinp, A* dweight, const T* dout, const T* inp, const T* weight,
                        const A* rstd, int N, int C) override;
  void residual_layernorm_forward(T* sum, T* out, A* mean, A* rstd, const T* a, const T* b,
                                  const T* weight, const T* bias, int N, int C, A eps) override;
  void residual_rmsnorm_forward(T* sum, T* out, A* rstd, const T* a, const T* b, const T* weight,
                                int N, int C, A eps) override;

  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                      int OC) override;
  void matmul_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp, const T* weight,
                       int N, int IC, int OC) override;
  void matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight, const T* bias, int N,
                           int IC, int OC) override;
  void matmul_gelu_backward(T* dpre, A* dweight, A* dbias, const T* dout, const T* inp,
                            const T* pre, const T* weight, int N, int IC, int OC) override;

  void attention_forward(T* out, A* lse, const T* qkv, int B, int Tn, int H, int KVH,
                         int hd) override;
  void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const A* lse, int B,
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

  void crossentropy_forward(A* losses, const T* logits, const int32_t* targets, int N, int V,
                            int ld, int32_t ignore_index) override;
  void crossentropy_forward_backward(T* logits, A* losses, const int32_t* targets, int N, int V,
                                     int ld, int32_t ignore_index, A dloss_scale) override;

  void adamw_update(A* master, T* params, const A* grads, A* m, A* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override;
  void narrow(T* dst, const A* src, size_t n, const AdamWStep& step,
              size_t index_offset) override;
  double sum_squares(const A* x, size_t n) override;

 private:
  struct State;  // stream, cuBLASLt, workspaces; keeps CUDA headers out of this header
  std::unique_ptr<State> s_;
  cuda::AttentionKernel attention_;
};

extern template class CudaBackend<float>;
extern template class CudaBackend<bf16>;

}  // namespace merino
