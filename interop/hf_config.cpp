#include "interop/hf_config.h"

#include <cstdio>
#include <stdexcept>

#include "base/errors.h"

namespace merino::interop {
namespace {

using json = nlohmann::json;

[[noreturn]] void refuse(const std::string& why) {
  throw ConfigError("no Hugging Face class computes this model: " + why);
}

bool uniform(const ModelConfig& cfg) {
  const BlockConfig& a = cfg.blocks.front();
  for (const BlockConfig& b : cfg.blocks)
    if (b.d_model != a.d_model || b.n_heads != a.n_heads || b.n_kv_heads != a.n_kv_heads ||
        b.ffn_dim != a.ffn_dim)
      return false;
  return true;
}

// the HF name of merino's GELU (tanh approximation) or ReLU
const char* act_name(ActivationKind a) { return a == ActivationKind::GELU ? "gelu_new" : "relu"; }

void add_tokens(json& j, const SpecialTokens& t) {
  if (t.bos >= 0) j["bos_token_id"] = t.bos;
  if (t.eos >= 0) j["eos_token_id"] = t.eos;
}

// What every family's config.json holds, under the family's own keys, with the defaults its
// config class applies to a missing key: export and import both read this one table.
struct FamilyKeys {
  const char* architecture;
  const char* model_type;
  const char* context;  // position table rows
  const char* width;
  const char* layers;
  const char* heads;
  const char* ffn;
  const char* init_std;
  const char* norm_eps;  // null: the class has a fixed eps (OPT's LayerNorm)
  double default_norm_eps;
  bool tied_by_default;  // tie_word_embeddings when absent
};

const FamilyKeys& family_keys(HfFamily f) {
  static const FamilyKeys gpt2{"GPT2LMHeadModel", "gpt2", "n_positions", "n_embd", "n_layer",
                               "n_head", "n_inner", "initializer_range", "layer_norm_epsilon",
                               1e-5, true};
  static const FamilyKeys opt{"OPTForCausalLM", "opt", "max_position_embeddings", "hidden_size",
                              "num_hidden_layers", "num_attention_heads", "ffn_dim", "init_std",
                              nullptr, 1e-5, true};
  static const FamilyKeys llama{"LlamaForCausalLM", "llama", "max_position_embeddings",
                                "hidden_size", "num_hidden_layers", "num_attention_heads",
                                "intermediate_size", "initializer_range", "rms_norm_eps", 1e-6,
                                false};
  switch (f) {
    case HfFamily::GPT2: return gpt2;
    case HfFamily::OPT: return opt;
    case HfFamily::Llama: return llama;
  }
  throw std::logic_error("family_keys: unknown family");
}

// ---- config.json -> YAML: typed reads that name the file and key ----

struct HfReader {
  const json& j;
  const std::string& path;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(path + ": " + key + ": " + what);
  }
  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  long long integer(const char* key) const {
    if (!has(key)) fail(key, "missing");
    if (!j[key].is_number_integer()) fail(key, "expected an integer, got " + j[key].dump());
    return j[key].get<long long>();
  }
  long long integer(const char* key, long long fallback) const { return has(key) ? integer(key) : fallback; }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_number()) fail(key, "expected a number, got " + j[key].dump());
    return j[key].get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_boolean()) fail(key, "expected true or false, got " + j[key].dump());
    return j[key].get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j[key].is_string()) fail(key, "expected a string, got " + j[key].dump());
    return j[key].get<std::string>();
  }
  // refuses a key whose value would change the computation
  void require(const char* key, bool ok, const std::string& what) const {
    if (!ok) fail(key, what + " is not supported by merino");
  }
};

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string gelu_or_relu(const HfReader& r, const char* key, const std::string& fallback) {
  const std::string a = r.string(key, fallback);
  if (a == "gelu_new" || a == "gelu_pytorch_tanh") return "gelu";
  if (a == "relu") return "relu";
  r.fail(key, "\"" + a + "\" is not supported by merino (gelu_new, gelu_pytorch_tanh or relu)");
}

}  // namespace

const char* hf_architecture(HfFamily f) { return family_keys(f).architecture; }

HfFamily hf_family_for(const ModelConfig& cfg) {
  if (!uniform(cfg))
    refuse("its blocks have different shapes (MeRino: proj_in/lm_proj); use --format merino");
  const BlockConfig& b = cfg.blocks.front();
  if (cfg.position == PositionKind::RoPE) {
    if (cfg.norm != NormKind::RMSNorm || cfg.activation != ActivationKind::SwiGLU)
      refuse("RoPE models map to LlamaForCausalLM, which needs norm: rmsnorm and activation: swiglu");
    return HfFamily::Llama;
  }
  if (cfg.norm != NormKind::LayerNorm) refuse("learned positions with rmsnorm (GPT-2 and OPT use layernorm)");
  if (cfg.activation == ActivationKind::SwiGLU) refuse("learned positions with swiglu (GPT-2 and OPT have a plain MLP)");
  if (!cfg.bias) refuse("learned positions without biases (GPT-2 and OPT have them)");
  if (b.n_kv_heads != b.n_heads) refuse("grouped-query attention with learned positions");
  if (cfg.position_offset == 0) return HfFamily::GPT2;
  if (cfg.position_offset != 2) refuse("position_offset " + std::to_string(cfg.position_offset) + " (GPT-2: 0, OPT: 2)");
  if (cfg.norm_eps != 1e-5) refuse("OPT with norm_eps other than 1e-5 (OPT's LayerNorm has a fixed eps)");
  return HfFamily::OPT;
}

std::vector<int> executed_parameter_sets(const ModelConfig& cfg) {
  std::vector<int> sets;
  int first = 0;  // global index of the block's first parameter set
  for (const BlockConfig& b : cfg.blocks) {
    // as Model::build_steps: executed layer e runs set e / repeat (set 0 when shared)
    for (int e = 0; e < b.executed_layers(); ++e) sets.push_back(first + (b.share ? 0 : e / b.repeat));
    first += b.param_sets();
  }
  return sets;
}

json hf_config_json(const ModelConfig& cfg, const SpecialTokens& tokens) {
  const HfFamily f = hf_family_for(cfg);
  const FamilyKeys& k = family_keys(f);
  const BlockConfig& b = cfg.blocks.front();
  const int layers = int(executed_parameter_sets(cfg).size());
  json j;
  j["architectures"] = {k.architecture};
  j["model_type"] = k.model_type;
  j["vocab_size"] = cfg.vocab_size;
  j[k.context] = cfg.context_length;
  j[k.width] = b.d_model;
  j[k.layers] = layers;
  j[k.heads] = b.n_heads;
  j[k.ffn] = b.ffn_dim;
  j[k.init_std] = cfg.init_std;
  if (k.norm_eps) j[k.norm_eps] = cfg.norm_eps;
  switch (f) {
    case HfFamily::GPT2:
      j["n_ctx"] = cfg.context_length;
      j["activation_function"] = act_name(cfg.activation);
      j["scale_attn_weights"] = true;
      j["scale_attn_by_inverse_layer_idx"] = false;
      j["reorder_and_upcast_attn"] = false;
      // merino trains without dropout; HF's GPT-2 default of 0.1 would change fine-tuning
      j["resid_pdrop"] = j["embd_pdrop"] = j["attn_pdrop"] = 0.0;
      break;
    case HfFamily::OPT:
      // max_position_embeddings is the context: the table has 2 more rows (the offset)
      j["word_embed_proj_dim"] = b.d_model;
      j["activation_function"] = act_name(cfg.activation);
      j["do_layer_norm_before"] = true;
      j["_remove_final_layer_norm"] = false;
      j["enable_bias"] = true;
      j["layer_norm_elementwise_affine"] = true;
      j["dropout"] = j["attention_dropout"] = j["activation_dropout"] = j["layerdrop"] = 0.0;
      // OPT's embedding zeroes the gradient of the padding row: make it the end-of-text token
      // rather than OPT's default 1, an ordinary token of other vocabularies
      if (tokens.eos >= 0) j["pad_token_id"] = tokens.eos;
      break;
    case HfFamily::Llama:
      j["num_key_value_heads"] = b.n_kv_heads;
      j["head_dim"] = b.head_dim();
      j["hidden_act"] = "silu";
      j["rope_theta"] = cfg.rope_theta;
      j["rope_scaling"] = nullptr;
      j["attention_bias"] = cfg.bias;
      j["mlp_bias"] = cfg.bias;
      j["attention_dropout"] = 0.0;
      j["pretraining_tp"] = 1;
      break;
  }
  j["tie_word_embeddings"] = cfg.tie_embeddings;
  add_tokens(j, tokens);
  j["torch_dtype"] = "float32";
  j["use_cache"] = true;
  bool expanded = cfg.blocks.size() > 1;
  for (const BlockConfig& blk : cfg.blocks) expanded = expanded || blk.repeat > 1 || blk.share;
  if (expanded)
    j["merino_note"] = "exported from merino model '" + cfg.name + "' (" +
                       std::to_string(cfg.blocks.size()) + " block(s); repeat/share run one parameter set "
                       "several times): each executed layer is stored as its own layer here, so " +
                       std::to_string(layers) + " layers hold copies of the shared weights";
  return j;
}

HfFamily hf_family_of(const json& config, const std::string& path) {
  const HfReader r{config, path};
  const std::string type = r.string("model_type", "");
  for (HfFamily f : {HfFamily::GPT2, HfFamily::OPT, HfFamily::Llama})
    if (type == family_keys(f).model_type) return f;
  if (type == "mistral") return HfFamily::Llama;  // Llama's computation plus a sliding window
  r.fail("model_type", "\"" + type + "\" is not supported (gpt2, opt, llama or mistral)");
}

std::string model_yaml_from_hf(const json& config, const std::string& path, const std::string& name) {
  if (!config.is_object()) throw ConfigError(path + ": not a JSON object");
  const HfReader r{config, path};
  const HfFamily f = hf_family_of(config, path);
  std::string y = "model:\n  name: " + json(name).dump() + "\n";
  auto line = [&](const std::string& key, const std::string& value) { y += "  " + key + ": " + value + "\n"; };
  auto flag = [](bool v) { return std::string(v ? "true" : "false"); };
  const FamilyKeys& k = family_keys(f);
  const long long d = r.integer(k.width), heads = r.integer(k.heads), ctx = r.integer(k.context);
  line("vocab_size", std::to_string(r.integer("vocab_size")));
  line("context_length", std::to_string(ctx));
  switch (f) {
    case HfFamily::GPT2:
      r.require("scale_attn_weights", r.boolean("scale_attn_weights", true), "false");
      r.require("scale_attn_by_inverse_layer_idx", !r.boolean("scale_attn_by_inverse_layer_idx", false), "true");
      r.require("add_cross_attention", !r.boolean("add_cross_attention", false), "true");
      line("norm", "layernorm");
      line("activation", gelu_or_relu(r, "activation_function", "gelu_new"));
      line("position", "learned");
      line("bias", "true");
      break;
    case HfFamily::OPT:
      r.require("do_layer_norm_before", r.boolean("do_layer_norm_before", true), "false (post-norm)");
      r.require("_remove_final_layer_norm", !r.boolean("_remove_final_layer_norm", false), "true");
      r.require("word_embed_proj_dim", r.integer("word_embed_proj_dim", d) == d, "a value other than hidden_size");
      r.require("enable_bias", r.boolean("enable_bias", true), "false");
      r.require("layer_norm_elementwise_affine", r.boolean("layer_norm_elementwise_affine", true), "false");
      line("norm", "layernorm");
      line("activation", gelu_or_relu(r, "activation_function", "relu"));
      line("position", "learned");
      line("position_offset", "2");
      line("bias", "true");
      break;
    case HfFamily::Llama: {
      r.require("rope_scaling", !r.has("rope_scaling"), "rope scaling");
      // Mistral's config class defaults to a 4096-token window when the key is absent
      const long long window = r.has("sliding_window") ? r.integer("sliding_window")
                               : r.string("model_type", "") == "mistral" ? 4096 : ctx;
      r.require("sliding_window", window >= ctx, "a sliding window shorter than max_position_embeddings");
      r.require("hidden_act", r.string("hidden_act", "silu") == "silu", "\"" + r.string("hidden_act", "") + "\"");
      r.require("head_dim", heads > 0 && r.integer("head_dim", d / heads) * heads == d,
                "a head_dim other than hidden_size / num_attention_heads");
      const bool attn_bias = r.boolean("attention_bias", false);
      r.require("mlp_bias", r.boolean("mlp_bias", false) == attn_bias, "a value different from attention_bias");
      line("norm", "rmsnorm");
      line("activation", "swiglu");
      line("position", "rope");
      line("rope_theta", num(r.number("rope_theta", 10000.0)));
      line("bias", flag(attn_bias));
      line("n_kv_heads", std::to_string(r.integer("num_key_value_heads", heads)));
      break;
    }
  }
  line("norm_eps", num(k.norm_eps ? r.number(k.norm_eps, k.default_norm_eps) : k.default_norm_eps));
  line("tie_embeddings", flag(r.boolean("tie_word_embeddings", k.tied_by_default)));
  line("init_std", num(r.number(k.init_std, 0.02)));
  line("layers", std::to_string(r.integer(k.layers)));
  line("d_model", std::to_string(d));
  line("n_heads", std::to_string(heads));
  // GPT-2's n_inner may be null: 4 x n_embd
  line("ffn_dim", std::to_string(f == HfFamily::GPT2 ? r.integer(k.ffn, 4 * d) : r.integer(k.ffn)));
  return y;
}

}  // namespace merino::interop
