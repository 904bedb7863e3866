// The log-softmax statistics of one row of fp32 logits over the whole vocabulary, in double:
// the zero-shot scorer's per-token cost beside the model (eval/loglikelihood.h), 50,257 terms
// per scored token for GPT-2's vocabulary.
//
// e^x comes from exp_nonpositive, not std::exp: a scalar libm call per term was half the
// scoring engine's time, while this branch-free form vectorises. It is Cody and Waite's range
// reduction, x = n ln2 + r with |r| <= ln2 / 2 and ln2 split in two so that n ln2 is exact,
// then e^r by its Taylor polynomial to degree 13 (truncation below 1e-17 relative) and 2^n
// written into the exponent bits: within a few ulp of std::exp (tests/eval/
// test_vocab_log_softmax.cpp), so log-likelihoods agree with a std::exp sum to ~1e-15 relative.
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

// e^x for x <= 0, a few ulp from the exact value; below -708 (where e^x nears the smallest
// normal double) it returns about 3e-308 rather than a denormal or 0, immaterial in a sum of
// terms whose largest is 1
double exp_nonpositive(double x);

}  // namespace merino::eval
