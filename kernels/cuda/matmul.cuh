// Linear layer y = x W^T + b on CUDA through cuBLASLt, W stored [OC, IC] (nn.Linear layout).
// Same semantics and argument order as kernels/cpu/matmul.h, with device pointers and a stream
// appended:
//   forward:  out[N, OC] = inp[N, IC] W^T + bias             (written; bias may be null)
//   backward: dinp[N, IC] = dout W                            (WRITTEN, =; skipped if null)
//             dweight[OC, IC] += dout^T inp                   (accumulated)
//             dbias[OC] += column sums of dout                (accumulated; skipped if null)
// plus forward_gelu, the fused c_fc + GELU of the GPT-2 MLP: pre_gelu = inp W^T + bias and
// out = gelu(pre_gelu) (tanh approximation) in one kernel; pre_gelu is what gelu_backward
// needs; and backward_gelu, its mirror in the backward pass of the layer that reads the GELU:
// dpre[N, IC] = (dout W) * gelu'(pre) from one GEMM (DGELU epilogue), dweight and dbias as
// backward, inp being gelu(pre). T is float or __nv_bfloat16 (fp32 accumulation and epilogue in
// both). The parameter gradients dweight and dbias have their own type G: T, or float with bf16
// T (mixed precision: bf16 activations and weights, fp32 gradients accumulated by the GEMM
// itself in fp32).
//
// A Matmul owns the cuBLASLt handle, one workspace allocated at construction (shared by cuBLASLt
// and the dbias reduction) and a cache of plans (descriptors + heuristic algorithm) per shape,
// type, epilogue and pointer alignment, so a training step does no allocation and no heuristic
// query after its first call per shape. Calls are asynchronous on `stream`. The workspace is
// reused call after call, so work queued on different streams must not share a Matmul (use one
// per stream), and one Matmul must not be called from several threads at once.
//
// Any sizes and pointer alignments are accepted (cuBLASLt is told the real alignment); a fused
// epilogue that cuBLASLt cannot run for a shape falls back to a plain GEMM plus a separate
// bias/GELU kernel, transparently. Errors throw: std::invalid_argument for bad arguments (a
// negative size, a required pointer that is null), std::runtime_error naming the cuBLASLt status
// (e.g. "CUBLAS_STATUS_NOT_SUPPORTED") or CUDA error otherwise. Design notes in matmul.cu.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>

namespace merino::cuda {

class Matmul {
 public:
  // 32 MiB: what cuBLAS recommends for Hopper, enough for split-K on every GPT-2 shape.
  static constexpr size_t kDefaultWorkspaceBytes = size_t(32) << 20;

  // Creates the cuBLASLt handle and allocates the workspace on the current device.
  explicit Matmul(size_t workspace_bytes = kDefaultWorkspaceBytes);
  ~Matmul();
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  // fp32 GEMMs use full fp32 (CUBLAS_COMPUTE_32F) by default, so they match the CPU backend to
  // ~1e-5; allow_tf32(true) switches them to TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32:
  // 10-bit mantissa inputs, ~1e-3 relative error, several times faster). No effect on bf16.
  void allow_tf32(bool on) { tf32_ = on; }
  bool tf32() const { return tf32_; }

  template <class T>
  void forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC, int OC,
               cudaStream_t stream = 0);
  template <class T>
  void forward_gelu(T* out, T* pre_gelu, const T* inp, const T* weight, const T* bias, int N,
                    int IC, int OC, cudaStream_t stream = 0);
  // G = T, or float when T is __nv_bfloat16
  template <class T, class G>
  void backward(T* dinp, G* dweight, G* dbias, const T* dout, const T* inp, const T* weight, int N,
                int IC, int OC, cudaStream_t stream = 0);
  template <class T, class G>
  void backward_gelu(T* dpre, G* dweight, G* dbias, const T* dout, const T* inp, const T* pre,
                     const T* weight, int N, int IC, int OC, cudaStream_t stream = 0);

  // Plans built so far (one per distinct GEMM configuration seen), for tests and logging.
  size_t plan_count() const;

 private:
  struct State;  // cuBLASLt objects; keeps cublasLt.h out of this header
  std::unique_ptr<State> state_;
  bool tf32_ = false;
};

}  // namespace merino::cuda
