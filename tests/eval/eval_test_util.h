// Shared helpers for the eval tests: skipping without the fetched WikiText-2, temporary
// directories and checkpoints of a model whose parameters are all zero (so its logits are
// exactly zero and it predicts the uniform distribution over the vocabulary).
#pragma once
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/data_paths.h"
#include "model/config.h"
#include "model/param_layout.h"
#include "train/checkpoint.h"

namespace merino::test {

// WikiText-2 is fetched, not committed (docs/DATA.md); PTB and the GPT-2 tokenizer are committed.
#define MERINO_WIKITEXT2_OR_SKIP()                                      \
  if (!::merino::find_data_file("wikitext-2-raw/wiki.test.raw") ||      \
      !::merino::find_data_file("wikitext-2-raw/wiki.valid.raw"))       \
  GTEST_SKIP() << "SKIPPED: run `merino fetch wikitext2`"

// A fresh directory under the system temp dir, removed when the object goes.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "merino_eval_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A one-layer GPT-2-style model; vocab 50257 fits the GPT-2 tokenizer.
inline std::string model_yaml(int vocab, int context) {
  return "model:\n  vocab_size: " + std::to_string(vocab) + "\n  context_length: " + std::to_string(context) +
         "\n  norm: layernorm\n  activation: gelu\n  position: learned\n  bias: true\n  tie_embeddings: true\n"
         "  layers: 1\n  d_model: 8\n  n_heads: 2\n  ffn_dim: 16\n";
}

inline ModelConfig config_from_yaml(const std::string& yaml, const std::string& scratch_dir) {
  const std::string file = scratch_dir + "/model.yaml";
  write_file(file, yaml);
  return load_model_config(file);
}

// Saves a checkpoint with every parameter 0 under run_dir; returns its directory.
inline std::string save_zero_checkpoint(const std::string& run_dir, const std::string& yaml, int64_t step = 1) {
  std::filesystem::create_directories(run_dir);
  const ParamLayout layout = build_param_layout(config_from_yaml(yaml, run_dir));
  CheckpointData data;
  data.state.step = step;
  data.params.assign(layout.total, 0.f);
  data.exp_avg = data.params;
  data.exp_avg_sq = data.params;
  data.config_yaml = yaml;
  return save_checkpoint(run_dir, layout, data, 1);
}

}  // namespace merino::test
