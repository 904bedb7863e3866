// The log-softmax statistics of one row of fp32 logits over the whole vocabulary, in double:
// the zero-shot scorer's per-token cost beside the model (eval/loglikelihood.h), 50,257 terms
// per scored token for GPT-2's vocabulary.
//
// e^x comes from kernels/cpu/exp_nonpositive.h in double, not std::exp, so the loop vectorises;
// it is within a few ulp of std::exp, so log-likelihoods agree with a std::exp sum to ~1e-15
// relative.
// The terms are summed in 8 interleaved partial sums, a fixed order: the same row always gives
// the same bits, which is what the scorer's bit-for-bit equivalence with score_naive needs.
#pragma once

namespace merino::eval {

struct RowLogSoftmax {
  int argmax = 0;          // the first index of the largest logit
  double max = 0;          // that logit
  double log_sum_exp = 0;  // log(sum_v e^(logit_v - max)): log_softmax[v] = logit_v - max - this
};

// logits: V >= 1 finite values
RowLogSoftmax row_log_softmax(const float* logits, int V);

}  // namespace merino::eval
