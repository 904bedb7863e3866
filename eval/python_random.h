// CPython's random.Random: MT19937 seeded as random.seed(int) seeds it (init_by_array over
// the seed's 32-bit words, reference mt19937ar.c) and random() from two draws. std::mt19937
// with std::seed_seq gives a different stream. lm-evaluation-harness's bootstrap standard
// errors draw from it (LM_EVAL_ZERO_SHOT.md section 7.2), so they can be reproduced exactly.
#pragma once
#include <array>
#include <cstdint>

namespace merino::eval {

class PythonRandom {
 public:
  explicit PythonRandom(uint32_t seed);  // random.seed(seed) for 0 <= seed < 2**32
  uint32_t genrand_uint32();
  double random();  // [0, 1) with 53 random bits

 private:
  std::array<uint32_t, 624> mt_{};
  int index_ = 624;
};

}  // namespace merino::eval
