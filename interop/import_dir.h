// `merino import`: a Hugging Face GPT-2, OPT or Llama-family directory (config.json +
// model.safetensors, or shards listed by model.safetensors.index.json) as a merino checkpoint
// that `merino eval` and `merino train --resume` accept.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace merino::interop {

struct ImportedModel {
  ModelConfig config;
  std::string config_yaml;    // the checkpoint's config.yaml: the `model:` section
  std::vector<float> params;  // laid out by build_param_layout(config)
  // tokenizer files found beside the model -> the names `--tokenizer DIR` reads
  std::vector<std::pair<std::string, std::string>> tokenizer_files;
};

// ConfigError / DataError naming the file and the problem: an unsupported model type or
// option, pytorch_model.bin without safetensors, a missing or misshapen tensor.
ImportedModel read_hf_directory(const std::string& hf_dir);

// Writes the checkpoint directory `out_dir` (which must not exist) with the format of
// train/checkpoint.h at step 0 and zero AdamW moments, which is exactly how a fresh run's
// optimizer starts; the tokenizer files go beside it.
void write_imported_checkpoint(const ImportedModel& model, const std::string& out_dir);

}  // namespace merino::interop
