// The CUDA implementation of Backend<float> (fp32 mode): device memory, one stream, every op
// forwarded to the kernels in kernels/cuda, tested as a whole model against the CPU backend
// (tests/cuda/test_cuda_backend.cpp). Ops are asynchronous on the backend's stream; download()
// and sum_squares() wait for it, which is where the host sees results.
// Workspaces (cuBLASLt's, and the scratch of the norm, attention and embedding backward kernels)
// are allocated once and grown only when a larger shape arrives, so a training step after the
// first allocates nothing.
#pragma once
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace merino {

class CudaBackend final : public Backend<float> {
 public:
  // Uses `device` (e.g. the local rank). Throws std::runtime_error when it cannot be used.
  explicit CudaBackend(int device = 0);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;
  size_t peak_bytes() const;  // device memory held by allocations and workspaces, at most
  // fp32 FLOP/s of the CUDA cores (what fp32 mode's GEMMs run on, without TF32), from the SM
  // count, clock and the FP32 lanes per SM of the architecture; MFU is measured against it
  double peak_fp32_flops() const;
  // The cudaStream_t every op is queued on (void*, keeping CUDA headers out of this header): the
  // NCCL communicator orders its collectives after the work queued there.
  void* stream_handle() const;

  float* alloc(size_t n) override;
  int32_t* alloc_index(size_t n) override;
  void release(void* p) override;
  void upload(float* dst, const float* host_src, size_t n) override;
  void upload_index(int32_t* dst, const int32_t* host_src, size_t n) override;
  void download(float* host_dst, const float* src, size_t n) override;
  void zero(float* p, size_t n) override;

  void embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int B,
                         int Tn, int C, int pos_offset) override;
  void embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int B,
                          int Tn, int C, int pos_offset) override;

  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int N, int C, float eps) override;
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                          const float* inp, const float* weight, const float* mean,
                          const float* rstd, int N, int C) override;
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                       float eps) override;
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                        const float* weight, const float* rstd, int N, int C) override;

  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N,
                      int IC, int OC) override;
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                       const float* weight, int N, int IC, int OC) override;

  void attention_forward(float* out, float* lse, const float* qkv, int B, int Tn, int H, int KVH,
                         int hd) override;
  void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                          const float* lse, int B, int Tn, int H, int KVH, int hd) override;
  void rope_forward(float* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override;
  void rope_backward(float* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override;

  void gelu_forward(float* out, const float* inp, size_t n) override;
  void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) override;
  void relu_forward(float* out, const float* inp, size_t n) override;
  void relu_backward(float* dinp, const float* dout, const float* inp, size_t n) override;
  void swiglu_forward(float* out, const float* inp, int N, int F) override;
  void swiglu_backward(float* dinp, const float* dout, const float* inp, int N, int F) override;

  void residual_forward(float* out, const float* a, const float* b, size_t n) override;
  void accumulate(float* dst, const float* src, size_t n) override;

  void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N, int V,
                            int32_t ignore_index) override;
  void crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets, int N,
                                     int V, int32_t ignore_index, float dloss_scale) override;

  void adamw_update(float* params, const float* grads, float* m, float* v, size_t n,
                    const AdamWStep& step) override;
  double sum_squares(const float* x, size_t n) override;

 private:
  struct State;  // stream, cuBLASLt, workspaces; keeps CUDA headers out of this header
  std::unique_ptr<State> s_;
};

}  // namespace merino
