// Softmax + cross-entropy over the vocabulary, CPU reference.
// The fused variant turns the logits into dlogits in place, row by row, so the probability
// matrix never exists beside the logits (N x V is the largest activation of a small LM).
// Rows whose target equals ignore_index add no loss and get a zero gradient; every other target
// must lie in [0, V).
// Row i starts at logits + i * ld (ld >= V): a model whose vocabulary is padded to an aligned
// width (docs/MODEL.md) keeps ld - V padding columns per row. They are not logits: the softmax
// is over the first V columns only, and the gradient written there is zero.
#pragma once
#include <cstdint>

namespace merino::cpu {

// losses[N] = -log softmax(logits)[target] (0 for ignored rows); logits untouched
template <class T>
void crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N, int V,
                          int ld, int32_t ignore_index);

// as above, and logits[N, ld] is overwritten by dloss_scale * (softmax - onehot(target)), zero in
// the padding columns
template <class T>
void crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets, int N, int V,
                                   int ld, int32_t ignore_index, T dloss_scale);

}  // namespace merino::cpu
