// Token + learned-position embedding, CPU reference.
// Positions of token (b, t) are t + pos_offset (OPT stores 2 extra rows and starts at 2).
// Backward accumulates (+=) because the token table is shared with a tied LM head and
// gradients accumulate over micro-batches. It is parallel over channels, not tokens, so
// repeated tokens never race and the sum order is fixed whatever the thread count.
#pragma once
#include <cstdint>

namespace merino::cpu {

// out[B*T, C] = wte[tokens] (+ wpe[t + pos_offset] when wpe is non-null)
template <class T>
void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                       int C, int pos_offset);

// dwte[tokens] += dout, dwpe[t + pos_offset] += dout (dwpe may be null)
template <class T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                        int C, int pos_offset);

}  // namespace merino::cpu
