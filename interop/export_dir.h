// `merino export`: a checkpoint's model as a Hugging Face directory (config.json,
// model.safetensors, generation_config.json, tokenizer files) that
// transformers.AutoModelForCausalLM.from_pretrained(DIR) loads unchanged, or as merino's own
// self-describing directory for shapes no HF class computes. Formats in docs/INTEROP.md.
#pragma once
#include <string>
#include <vector>

#include "interop/tokenizer_export.h"
#include "model/config.h"

namespace merino::interop {

// `params` laid out by build_param_layout(cfg); `tokenizer` may be null (no tokenizer files).
// ConfigError when no HF class computes `cfg` (hf_family_for).
void write_hf_directory(const ModelConfig& cfg, const std::vector<float>& params,
                        const TokenizerExport* tokenizer, const std::string& out_dir);

// config.yaml (the run's), model.safetensors (the checkpoint's, merino names, [out, in]),
// FORMAT.md describing both, and the tokenizer files.
void write_merino_directory(const ModelConfig& cfg, const std::string& config_yaml,
                            const std::string& model_safetensors_bytes,
                            const TokenizerExport* tokenizer, const std::string& out_dir);

}  // namespace merino::interop
