// LayerNorm and RMSNorm over the last dimension, CPU reference.
// Forward saves the per-row statistics (mean, 1/std) so backward need not recompute them.
// Backward accumulates (+=) into dinp: the norm sits on a residual branch, so its input
// gradient is added to the residual-stream gradient already in the buffer. Weight and bias
// gradients accumulate too (shared layers, micro-batches).
#pragma once

namespace merino::cpu {

// out = (inp - mean) * rstd * weight + bias   (bias may be null); mean, rstd: [N]
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight, const T* bias,
                       int N, int C, T eps);

// dinp += ..., dweight += ..., dbias += ... (dbias may be null)
template <class T>
void layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                        const T* weight, const T* mean, const T* rstd, int N, int C);

// out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps); rstd: [N]
template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C, T eps);

// dinp += ..., dweight += ...
template <class T>
void rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                      const T* rstd, int N, int C);

}  // namespace merino::cpu
