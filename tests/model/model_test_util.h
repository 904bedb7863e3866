// Shared helpers for whole-model tests: tiny configs, random token batches.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/config.h"

namespace merino::test {

inline ModelConfig tiny_config(const std::string& name) {
  return load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/model/configs/" + name + ".yaml");
}

inline std::vector<int32_t> random_tokens(size_t n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = dist(rng);
  return t;
}

}  // namespace merino::test
