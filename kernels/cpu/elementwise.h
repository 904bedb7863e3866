// Residual add and gradient accumulation, CPU reference.
#pragma once
#include <cstddef>

namespace merino::cpu {

// out = a + b (out may alias a or b)
template <class T>
void residual_forward(T* out, const T* a, const T* b, size_t n);

// dst += src
template <class T>
void accumulate(T* dst, const T* src, size_t n);

}  // namespace merino::cpu
