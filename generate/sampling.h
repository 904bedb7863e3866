// Choosing the next token from a row of logits: greedy (temperature 0) or sampling at a
// temperature, optionally restricted to the k most likely tokens (top-k) and then to the
// smallest set of most likely tokens whose probability reaches p (top-p, nucleus sampling,
// Holtzman et al. 2019), in that order -- the order and the tie rules of Hugging Face's
// TopKLogitsWarper / TopPLogitsWarper, which keep at least one token.
// Deterministic: the random stream is merino's own (mt19937_64, whose output the C++ standard
// fixes, turned into a double in [0, 1) by its top 53 bits), so a seed gives the same tokens
// with any compiler or standard library.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace merino::generate {

struct SamplingOptions {
  double temperature = 1.0;  // 0: greedy (argmax); > 0: softmax(logits / temperature)
  int top_k = 0;             // 0: no limit
  double top_p = 1.0;        // in (0, 1]; 1: no limit
};

// The index of the largest of logits[0, V), the lowest index among equals.
int32_t argmax(const float* logits, int V);

// The distribution sampling draws from (temperature > 0): softmax(logits / temperature) in
// double, then every token outside the top-k set and the top-p set set to 0, and the rest
// renormalised to sum 1. Ties are ranked by index, lowest first.
std::vector<double> sampling_distribution(const float* logits, int V, const SamplingOptions& o);

// The token whose cumulative probability (in index order) first exceeds u * sum(p), u in [0, 1).
int32_t draw(const std::vector<double>& p, double u);

// A seeded source of next tokens.
class Sampler {
 public:
  explicit Sampler(uint64_t seed) : rng_(seed) {}
  int32_t next(const float* logits, int V, const SamplingOptions& o);
  double uniform();  // [0, 1)

 private:
  std::mt19937_64 rng_;
};

}  // namespace merino::generate
