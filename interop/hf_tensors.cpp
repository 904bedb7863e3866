#include "interop/hf_tensors.h"

#include <map>
#include <set>

#include "base/errors.h"
#include "interop/hf_config.h"
#include "model/param_layout.h"

namespace merino::interop {
namespace {

// One HF tensor = `numel` elements of merino's buffer from `offset` (rows of a fused matrix
// are contiguous), transposed for GPT-2's Conv1D.
struct Link {
  std::string hf;
  std::vector<int64_t> shape;  // HF shape
  size_t offset = 0;
  bool transpose = false;
};

size_t numel(const std::vector<int64_t>& s) {
  size_t n = 1;
  for (int64_t d : s) n *= size_t(d);
  return n;
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

const std::map<std::string, std::string> kGpt2Globals = {
    {"wte.weight", "transformer.wte.weight"}, {"wpe.weight", "transformer.wpe.weight"},
    {"ln_f.weight", "transformer.ln_f.weight"}, {"ln_f.bias", "transformer.ln_f.bias"},
    {"lm_head.weight", "lm_head.weight"}};
const std::map<std::string, std::string> kOptGlobals = {
    {"wte.weight", "model.decoder.embed_tokens.weight"},
    {"wpe.weight", "model.decoder.embed_positions.weight"},
    {"ln_f.weight", "model.decoder.final_layer_norm.weight"},
    {"ln_f.bias", "model.decoder.final_layer_norm.bias"},
    {"lm_head.weight", "lm_head.weight"}};
// merino's GPT-2 names inside a layer -> OPT's (c_attn is split separately)
const std::map<std::string, std::string> kOptLayer = {
    {"ln_1.weight", "self_attn_layer_norm.weight"}, {"ln_1.bias", "self_attn_layer_norm.bias"},
    {"attn.c_proj.weight", "self_attn.out_proj.weight"}, {"attn.c_proj.bias", "self_attn.out_proj.bias"},
    {"ln_2.weight", "final_layer_norm.weight"}, {"ln_2.bias", "final_layer_norm.bias"},
    {"mlp.c_fc.weight", "fc1.weight"}, {"mlp.c_fc.bias", "fc1.bias"},
    {"mlp.c_proj.weight", "fc2.weight"}, {"mlp.c_proj.bias", "fc2.bias"}};

// merino names learned-position models (GPT-2 and OPT alike) with GPT-2's names
std::string layer_prefix(HfFamily f, int i) {
  return (f == HfFamily::Llama ? "model.layers." : "h.") + std::to_string(i) + ".";
}

std::string hf_layer_prefix(HfFamily f, int j) {
  switch (f) {
    case HfFamily::GPT2: return "transformer.h." + std::to_string(j) + ".";
    case HfFamily::OPT: return "model.decoder.layers." + std::to_string(j) + ".";
    case HfFamily::Llama: break;
  }
  return "model.layers." + std::to_string(j) + ".";
}

// the links of HF layer j, which holds merino parameter set s
void add_layer(std::vector<Link>& out, HfFamily f, const ModelConfig& cfg, const ParamLayout& L, int s, int j) {
  const std::string mp = layer_prefix(f, s), hp = hf_layer_prefix(f, j);
  const BlockConfig& b = cfg.blocks.front();
  for (const ParamEntry& e : L.entries) {
    if (e.name.rfind(mp, 0) != 0) continue;
    const std::string suffix = e.name.substr(mp.size());
    if (f == HfFamily::GPT2) {
      const bool conv1d = e.shape.size() == 2;
      out.push_back({hp + suffix, conv1d ? std::vector<int64_t>{e.shape[1], e.shape[0]} : e.shape, e.offset, conv1d});
    } else if (f == HfFamily::Llama) {
      out.push_back({hp + suffix, e.shape, e.offset, false});
    } else if (suffix == "attn.c_attn.weight" || suffix == "attn.c_attn.bias") {
      const bool weight = suffix == "attn.c_attn.weight";
      const int64_t C = weight ? e.shape[1] : 1, q = int64_t(b.n_heads) * b.head_dim(),
                    kv = int64_t(b.n_kv_heads) * b.head_dim();
      size_t at = e.offset;
      for (const auto& [name, rows] : {std::pair<const char*, int64_t>{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}}) {
        out.push_back({hp + "self_attn." + name + (weight ? ".weight" : ".bias"),
                       weight ? std::vector<int64_t>{rows, C} : std::vector<int64_t>{rows}, at, false});
        at += size_t(rows * C);
      }
    } else {
      out.push_back({hp + kOptLayer.at(suffix), e.shape, e.offset, false});
    }
  }
}

std::vector<Link> links(const ModelConfig& cfg) {
  const HfFamily f = hf_family_for(cfg);
  const ParamLayout L = build_param_layout(cfg);
  const std::vector<int> sets = executed_parameter_sets(cfg);
  std::vector<Link> out;
  bool layers_done = false;
  for (const ParamEntry& e : L.entries) {
    const bool in_layer = e.name.rfind(f == HfFamily::Llama ? "model.layers." : "h.", 0) == 0;
    if (in_layer) {
      if (!layers_done)
        for (size_t j = 0; j < sets.size(); ++j) add_layer(out, f, cfg, L, sets[j], int(j));
      layers_done = true;
      continue;
    }
    const std::string& hf = f == HfFamily::GPT2 ? kGpt2Globals.at(e.name)
                            : f == HfFamily::OPT ? kOptGlobals.at(e.name)
                                                 : e.name;
    out.push_back({hf, e.shape, e.offset, false});
  }
  return out;
}

// HF names from older save formats -> the names links() uses
std::string canonical_name(HfFamily f, const std::string& name) {
  if (f == HfFamily::GPT2 && name.rfind("transformer.", 0) != 0 && name != "lm_head.weight")
    return "transformer." + name;
  if (f == HfFamily::OPT && name.rfind("decoder.", 0) == 0) return "model." + name;
  return name;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// buffers HF files may carry beside the parameters, and a tied head's copy of the embedding
bool ignorable(HfFamily f, const ModelConfig& cfg, const std::string& name) {
  if (name == "lm_head.weight") return cfg.tie_embeddings;
  if (f == HfFamily::GPT2) return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias");
  if (f == HfFamily::Llama) return ends_with(name, ".rotary_emb.inv_freq");
  return false;
}

}  // namespace

std::vector<HfTensor> hf_tensors_from_params(const ModelConfig& cfg, const std::vector<float>& params) {
  std::vector<HfTensor> out;
  for (const Link& k : links(cfg)) {
    HfTensor t{k.hf, k.shape, {}};
    const float* src = params.data() + k.offset;
    if (k.transpose) {  // merino [out, in] -> HF Conv1D [in, out]
      const int64_t in = k.shape[0], outs = k.shape[1];
      t.data.resize(numel(k.shape));
      for (int64_t r = 0; r < outs; ++r)
        for (int64_t c = 0; c < in; ++c) t.data[size_t(c * outs + r)] = src[r * in + c];
    } else {
      t.data.assign(src, src + numel(k.shape));
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<float> params_from_hf_tensors(const ModelConfig& cfg, const SafetensorsFile& file,
                                          const std::string& path) {
  const HfFamily f = hf_family_for(cfg);
  std::map<std::string, const SafetensorsFile::Tensor*> by_name;
  for (const auto& [name, t] : file.tensors) {
    if (ignorable(f, cfg, name)) continue;
    if (!by_name.emplace(canonical_name(f, name), &t).second)
      throw DataError(path + ": tensor '" + name + "' appears twice (under two naming schemes)");
  }
  std::vector<float> params(build_param_layout(cfg).total, 0.f);
  std::set<std::string> used;
  for (const Link& k : links(cfg)) {
    const auto it = by_name.find(k.hf);
    if (it == by_name.end()) throw DataError(path + ": tensor '" + k.hf + "' is missing");
    const SafetensorsFile::Tensor& t = *it->second;
    if (t.shape != k.shape)
      throw DataError(path + ": tensor '" + k.hf + "' has shape " + shape_string(t.shape) +
                      " but config.json implies " + shape_string(k.shape));
    float* dst = params.data() + k.offset;
    if (k.transpose) {  // HF Conv1D [in, out] -> merino [out, in]
      const int64_t in = k.shape[0], outs = k.shape[1];
      for (int64_t c = 0; c < in; ++c)
        for (int64_t r = 0; r < outs; ++r) dst[r * in + c] = t.data[size_t(c * outs + r)];
    } else {
      std::copy(t.data.begin(), t.data.end(), dst);
    }
    used.insert(k.hf);
  }
  for (const auto& [name, t] : by_name)
    if (!used.count(name)) throw DataError(path + ": tensor '" + name + "' is not part of the model config.json describes");
  return params;
}

}  // namespace merino::interop
