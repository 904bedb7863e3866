// Export and import against an independent reference: each fixture directory is a tiny HF
// model written by scripts/make_interop_fixtures.py together with the logits its PyTorch
// re-implementation of the transformers classes computes. Importing it must reproduce those
// log-probabilities (the mapping and merino's computation agree with HF's), and exporting the
// imported model must give back the same tensor bytes and config values (so export is the
// exact inverse, and an exported model computes what the reference computes).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/errors.h"
#include "interop/export_dir.h"
#include "interop/hf_config.h"
#include "interop/import_dir.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "model/param_layout.h"
#include "model/yaml_reader.h"
#include "temp_path.h"
#include "train/safetensors.h"

namespace merino::interop {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string kFixtures = std::string(MERINO_SOURCE_DIR) + "/tests/interop/fixtures/";

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// -log p(v | prefix) for every position and every vocabulary entry v, from merino's forward
// pass (scored against target v everywhere, one pass per v)
std::vector<std::vector<double>> merino_nll(const ModelConfig& cfg, const std::vector<float>& params,
                                            const std::vector<int32_t>& prompt) {
  CpuBackend<float> be;
  const int T = int(prompt.size());
  be.reserve(Model<float>::memory_plan(cfg, 1, T));
  Model<float> model(cfg, be);
  model.set_params(params);
  std::vector<std::vector<double>> nll(size_t(T), std::vector<double>(size_t(cfg.vocab_size)));
  std::vector<float> losses;
  for (int v = 0; v < cfg.vocab_size; ++v) {
    const std::vector<int32_t> targets(size_t(T), v);
    model.forward(prompt.data(), targets.data(), 1, T, losses);
    for (int t = 0; t < T; ++t) nll[size_t(t)][size_t(v)] = losses[size_t(t)];
  }
  return nll;
}

// the reference logits' -log softmax, compared with merino's
void expect_reference_logits(const ModelConfig& cfg, const std::vector<float>& params, const std::string& fixture) {
  const json ref = read_json(kFixtures + fixture + "/reference.json");
  for (size_t p = 0; p < ref["prompts"].size(); ++p) {
    const auto prompt = ref["prompts"][p].get<std::vector<int32_t>>();
    const auto logits = ref["logits"][p].get<std::vector<std::vector<double>>>();
    const auto nll = merino_nll(cfg, params, prompt);
    double worst = 0;
    for (size_t t = 0; t < prompt.size(); ++t) {
      double mx = -1e300, sum = 0;
      for (double x : logits[t]) mx = std::max(mx, x);
      for (double x : logits[t]) sum += std::exp(x - mx);
      for (size_t v = 0; v < logits[t].size(); ++v)
        worst = std::max(worst, std::abs(nll[t][v] - (mx + std::log(sum) - logits[t][v])));
    }
    // float32 against float64 over a few layers; a mapping error is off by O(1)
    EXPECT_LT(worst, 2e-4) << fixture << " prompt " << p;
  }
}

// every tensor of `got` equals the one of that name in `want`, to the byte; none is extra or missing
void expect_same_tensors(const std::string& want_path, const std::string& got_path) {
  const SafetensorsFile want = read_safetensors(want_path), got = read_safetensors(got_path);
  ASSERT_EQ(want.tensors.size(), got.tensors.size()) << got_path;
  for (const auto& [name, t] : want.tensors) {
    const auto it = got.tensors.find(name);
    ASSERT_NE(it, got.tensors.end()) << name << " missing from " << got_path;
    EXPECT_EQ(it->second.shape, t.shape) << name;
    EXPECT_EQ(0, std::memcmp(it->second.data.data(), t.data.data(), t.data.size() * sizeof(float))) << name;
  }
}

// each key the fixture's config.json sets has the same value in the exported one
void expect_config_values(const std::string& want_path, const std::string& got_path) {
  const json want = read_json(want_path), got = read_json(got_path);
  for (const auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.contains(key)) << key << " missing from " << got_path;
    EXPECT_EQ(got[key], value) << key;
  }
}

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& stem) : path(test::temp_path(stem)) { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

class HfFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(HfFixture, ImportComputesTheReferenceLogits) {
  const ImportedModel m = read_hf_directory(kFixtures + GetParam());
  expect_reference_logits(m.config, m.params, GetParam());
}

TEST_P(HfFixture, ExportOfTheImportIsByteIdentical) {
  const ImportedModel m = read_hf_directory(kFixtures + GetParam());
  const TempDir out(std::string("export_") + GetParam());
  write_hf_directory(m.config, m.params, nullptr, out.path);
  expect_same_tensors(kFixtures + GetParam() + "/model.safetensors", out.path + "/model.safetensors");
  expect_config_values(kFixtures + GetParam() + "/config.json", out.path + "/config.json");
}

INSTANTIATE_TEST_SUITE_P(Families, HfFixture, ::testing::Values("gpt2", "opt", "llama_gqa"));

// A merino `layers: 2, repeat: 2` GQA model (MobileLLM-LS style) exports as a plain 4-layer Llama
// whose layers 2s and 2s+1 both hold parameter set s: the fixture is that export, its logits
// computed by the reference over 4 stored layers.
ModelConfig repeat_config() {
  const std::string yaml =
      "model:\n  vocab_size: 64\n  context_length: 16\n  norm: rmsnorm\n  norm_eps: 1.0e-5\n"
      "  activation: swiglu\n  position: rope\n  rope_theta: 10000\n  bias: false\n  tie_embeddings: true\n"
      "  layers: 2\n  repeat: 2\n  d_model: 16\n  n_heads: 4\n  n_kv_heads: 2\n  ffn_dim: 24\n";
  return parse_model_config(YamlMap(YAML::Load(yaml), "repeat.yaml", "").map("model"));
}

std::vector<float> repeat_params(const ModelConfig& cfg) {
  const ImportedModel plain = read_hf_directory(kFixtures + "llama_repeat");
  const ParamLayout from = build_param_layout(plain.config), to = build_param_layout(cfg);
  std::vector<float> params(to.total);
  for (const ParamEntry& e : to.entries) {
    std::string name = e.name;
    const std::string layers = "model.layers.";
    if (name.rfind(layers, 0) == 0) {  // set s is stored as HF layer 2s (and 2s + 1)
      const size_t dot = name.find('.', layers.size());
      name = layers + std::to_string(2 * std::stoi(name.substr(layers.size(), dot - layers.size()))) + name.substr(dot);
    }
    const ParamEntry* src = from.find(name);
    EXPECT_NE(src, nullptr) << name;
    std::copy_n(plain.params.begin() + std::ptrdiff_t(src->offset), e.numel, params.begin() + std::ptrdiff_t(e.offset));
  }
  return params;
}

TEST(Repeat, ComputesTheReferenceLogitsOfTheExpandedLlama) {
  const ModelConfig cfg = repeat_config();
  expect_reference_logits(cfg, repeat_params(cfg), "llama_repeat");
}

TEST(Repeat, ExportStoresEachExecutionAsItsOwnLayer) {
  const ModelConfig cfg = repeat_config();
  const TempDir out("export_repeat");
  write_hf_directory(cfg, repeat_params(cfg), nullptr, out.path);
  expect_same_tensors(kFixtures + "llama_repeat/model.safetensors", out.path + "/model.safetensors");
  expect_config_values(kFixtures + "llama_repeat/config.json", out.path + "/config.json");
  EXPECT_NE(read_json(out.path + "/config.json").value("merino_note", "").find("4 layers"), std::string::npos);
  EXPECT_EQ(executed_parameter_sets(cfg), (std::vector<int>{0, 0, 1, 1}));
}

// ---- refusals: one line naming the problem ----

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

TEST(Refusals, HeterogeneousBlocksSuggestMerinoFormat) {
  const ModelConfig cfg = load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/merino-52m.yaml");
  EXPECT_NE(error_of<ConfigError>([&] { hf_family_for(cfg); }).find("--format merino"), std::string::npos);
}

TEST(Refusals, ImportNamesUnsupportedOptions) {
  json c = read_json(kFixtures + "llama_gqa/config.json");
  c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  EXPECT_NE(error_of<ConfigError>([&] { model_yaml_from_hf(c, "config.json", "x"); }).find("rope_scaling"), std::string::npos);
  c = read_json(kFixtures + "llama_gqa/config.json");
  c["model_type"] = "mistral";  // Mistral's default 4096-token window is shorter than this context
  c["max_position_embeddings"] = 32768;
  EXPECT_NE(error_of<ConfigError>([&] { model_yaml_from_hf(c, "config.json", "x"); }).find("sliding_window"), std::string::npos);
  c = read_json(kFixtures + "opt/config.json");
  c["do_layer_norm_before"] = false;
  EXPECT_NE(error_of<ConfigError>([&] { model_yaml_from_hf(c, "config.json", "x"); }).find("do_layer_norm_before"), std::string::npos);
  c = read_json(kFixtures + "gpt2/config.json");
  c["activation_function"] = "gelu";  // erf GELU, not merino's tanh approximation
  EXPECT_NE(error_of<ConfigError>([&] { model_yaml_from_hf(c, "config.json", "x"); }).find("activation_function"), std::string::npos);
}

TEST(Refusals, PickleWeightsNameTheFileAndSuggestSafetensors) {
  const TempDir dir("pickle");
  fs::create_directories(dir.path);
  fs::copy_file(kFixtures + "gpt2/config.json", dir.path + "/config.json");
  std::ofstream(dir.path + "/pytorch_model.bin") << "not read";
  const std::string e = error_of<DataError>([&] { read_hf_directory(dir.path); });
  EXPECT_NE(e.find("pytorch_model.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("safetensors"), std::string::npos) << e;
}

TEST(Refusals, MisshapenTensorIsNamed) {
  const TempDir dir("misshapen");
  fs::create_directories(dir.path);
  json c = read_json(kFixtures + "gpt2/config.json");
  c["n_inner"] = 41;
  std::ofstream(dir.path + "/config.json") << c.dump();
  fs::copy_file(kFixtures + "gpt2/model.safetensors", dir.path + "/model.safetensors");
  const std::string e = error_of<DataError>([&] { read_hf_directory(dir.path); });
  EXPECT_NE(e.find("transformer.h.0.mlp.c_fc.weight' has shape [16, 40]"), std::string::npos) << e;
}

// Published models ship in F16/BF16: import widens them exactly (IEEE 754 binary16 and
// bfloat16 definitions, written out here as sign, exponent and mantissa)
TEST(HalfPrecision, ImportWidensF16AndBf16Exactly) {
  const uint16_t f16[] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0x8000};
  const float f16_want[] = {1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24), std::ldexp(1023.0f, -24),
                            std::numeric_limits<float>::infinity(), -0.0f};
  const uint16_t bf16[] = {0x3F80, 0xC020, 0x7F7F, 0x0001, 0xFF80};
  const float bf16_want[] = {1.0f, -2.5f, std::ldexp(255.0f, 120), std::ldexp(1.0f, -133),
                             -std::numeric_limits<float>::infinity()};
  std::string data;
  for (uint16_t h : f16) data += {char(h & 0xff), char(h >> 8)};
  for (uint16_t h : bf16) data += {char(h & 0xff), char(h >> 8)};
  const std::string header = R"({"a":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},)"
                             R"("b":{"dtype":"BF16","shape":[5],"data_offsets":[14,24]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
  bytes += header + data;
  const SafetensorsFile file = parse_safetensors(bytes, "half.safetensors", /*widen_half=*/true);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(file.tensors.at("a").data[i], f16_want[i]) << i;
    EXPECT_EQ(std::signbit(file.tensors.at("a").data[i]), std::signbit(f16_want[i])) << i;
  }
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(file.tensors.at("b").data[i], bf16_want[i]) << i;
  // checkpoints stay F32-only
  EXPECT_NE(error_of<DataError>([&] { parse_safetensors(bytes, "half.safetensors"); }).find("dtype"), std::string::npos);
}

}  // namespace
}  // namespace merino::interop
