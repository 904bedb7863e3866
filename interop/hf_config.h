// Model configs <-> Hugging Face config.json, for the three HF classes whose computation a
// merino model can equal exactly: GPT2LMHeadModel, OPTForCausalLM and LlamaForCausalLM
// (MobileLLM, Mistral without a sliding window). The rules are in docs/INTEROP.md; what has no
// HF equivalent is refused by name rather than exported or imported approximately.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"

namespace merino::interop {

enum class HfFamily { GPT2, OPT, Llama };

const char* hf_architecture(HfFamily f);  // "GPT2LMHeadModel", ...

// The HF class that computes `cfg`; ConfigError naming what has none (e.g. blocks of
// different shapes, a learned position offset other than 0 or 2, SwiGLU with learned positions).
HfFamily hf_family_for(const ModelConfig& cfg);

// For each HF layer, in order, the global index of the merino parameter set it holds: a
// `repeat: N` or `share: true` layer is stored once per execution.
std::vector<int> executed_parameter_sets(const ModelConfig& cfg);

struct SpecialTokens {
  int bos = -1, eos = -1;  // -1: unknown, left out of config.json
};

// config.json for `cfg` (hf_family_for(cfg) must not throw).
nlohmann::json hf_config_json(const ModelConfig& cfg, const SpecialTokens& tokens);

// The family config.json describes; ConfigError "PATH: ..." for model types merino cannot run.
HfFamily hf_family_of(const nlohmann::json& config, const std::string& path);

// config.json -> the `model:` section of a merino config, as YAML text ("model:\n  ..."), so
// that the checkpoint's config.yaml is what load_model_config() validates. Options that change
// the computation in a way merino does not implement (rope_scaling, sliding_window, ...) are
// refused by name: ConfigError "PATH: KEY ...".
std::string model_yaml_from_hf(const nlohmann::json& config, const std::string& path,
                               const std::string& name);

}  // namespace merino::interop
