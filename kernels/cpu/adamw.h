// AdamW (Loshchilov & Hutter) over a flat parameter range, and the squared norm used for global
// gradient clipping, CPU reference. Clipping is folded into the update as `grad_scale`, so the
// gradients are read once and never rewritten (the fused design the CUDA kernel follows).
// Matches torch.optim.AdamW: p <- p - lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/adamw_step.h"

namespace merino::cpu {

using merino::AdamWStep;

// updates params, m, v in place for n elements
template <class T>
void adamw_update(T* params, const T* grads, T* m, T* v, size_t n, const AdamWStep& s);

// sum of x^2 in double, summed in fixed chunks in a fixed order: the same bits whatever the
// thread count, so a resumed run clips exactly as the uninterrupted one did
template <class T>
double sum_squares(const T* x, size_t n);

}  // namespace merino::cpu
