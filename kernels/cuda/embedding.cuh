// Token + learned-position embedding, CUDA. Same semantics and argument order as
// kernels/cpu/embedding.h (forward writes out; backward ACCUMULATES += into dwte and dwpe), with
// device pointers and a stream appended; T = float or __nv_bfloat16 (bf16 tables, fp32
// arithmetic, one rounding per output element). The gradient tables dwte / dwpe have type G:
// T, or float beside bf16 activations (mixed precision: fp32 gradients, never rounded to
// bf16). Design notes at the top of embedding.cu. Launchers are asynchronous on `stream` and
// throw std::runtime_error on launch errors. Tokens must lie in [0, V) and positions
// t + pos_offset inside wpe, as on the CPU.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace merino::cuda {

// out[B*T, C] = wte[tokens] (+ wpe[t + pos_offset] when wpe is non-null)
template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, int pos_offset, cudaStream_t stream = 0);

// dwte[tokens] += dout, dwpe[t + pos_offset] += dout (dwpe may be null). Deterministic: the
// same bits on every run. `scratch` (device, at least embedding_backward_scratch_bytes(B, Tn, C)
// bytes, 256-byte aligned) holds the sorted token list and partial sums; when null it is taken
// with cudaMallocAsync and returned with cudaFreeAsync on `stream`. G = T, or float when T is
// __nv_bfloat16.
template <class T, class G>
void embedding_backward(G* dwte, G* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, int pos_offset, cudaStream_t stream = 0, void* scratch = nullptr);
size_t embedding_backward_scratch_bytes(int B, int Tn, int C);

}  // namespace merino::cuda
