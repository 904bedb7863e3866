// merino's parameter buffer <-> Hugging Face tensors: names, the GPT-2 Conv1D transpose
// ([in, out] in HF), OPT's fused q/k/v split into q_proj/k_proj/v_proj and renamed, repeated
// layers stored once per execution. Both directions use one table of links (docs/INTEROP.md),
// so export and import cannot disagree.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/safetensors.h"

namespace merino::interop {

struct HfTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// `params` is laid out by build_param_layout(cfg); hf_family_for(cfg) must not throw. Tensors
// come in HF order (embeddings, layers, final norm, head); a tied head is left out, as
// save_pretrained does.
std::vector<HfTensor> hf_tensors_from_params(const ModelConfig& cfg, const std::vector<float>& params);

// The inverse, for a model with one parameter set per layer (what import builds). Accepts the
// names older HF files use (GPT-2 without "transformer.", OPT's "decoder."), skips buffers that
// are not parameters (GPT-2 "attn.bias"/"attn.masked_bias", "rotary_emb.inv_freq") and a tied
// "lm_head.weight". DataError "PATH: tensor 'NAME' ..." for a missing, misshapen or unknown one.
std::vector<float> params_from_hf_tensors(const ModelConfig& cfg, const SafetensorsFile& file,
                                          const std::string& path);

}  // namespace merino::interop
