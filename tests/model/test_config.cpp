// Config validation: every bad file gives one error line naming the file, the key and the rule.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "base/errors.h"
#include "model/config.h"
#include "temp_path.h"

using merino::ConfigError;
using merino::load_model_config;

namespace {

const char* kGood = R"(model:
  vocab_size: 100
  context_length: 16
  norm: layernorm
  activation: gelu
  position: learned
  bias: true
  tie_embeddings: true
  layers: 2
  d_model: 32
  n_heads: 4
  ffn_dim: 64
)";

std::string write_config(const std::string& text) {
  const std::string path = merino::test::temp_path("bad.yaml");
  std::ofstream(path) << text;
  return path;
}

// `text` with the line starting with `key:` replaced by `replacement` (or removed when empty)
std::string with_line(const std::string& key, const std::string& replacement) {
  std::string s = kGood;
  const size_t at = s.find("  " + key + ":");
  EXPECT_NE(at, std::string::npos) << key;
  const size_t end = s.find('\n', at);
  s.replace(at, end - at + 1, replacement.empty() ? "" : "  " + replacement + "\n");
  return s;
}

std::string error_of(const std::string& text) {
  const std::string path = write_config(text);
  try {
    load_model_config(path);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
    EXPECT_EQ(msg.rfind(path, 0), 0u) << "does not start with the file name: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

}  // namespace

TEST(ModelConfig, GoodConfigParses) {
  const merino::ModelConfig c = load_model_config(write_config(kGood));
  ASSERT_EQ(c.blocks.size(), 1u);
  EXPECT_EQ(c.blocks[0].d_model, 32);
  EXPECT_EQ(c.blocks[0].n_kv_heads, 4);  // defaults to n_heads
  EXPECT_EQ(c.blocks[0].repeat, 1);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
}

TEST(ModelConfig, UnknownKeyNamesKeyAndLine) {
  const std::string msg = error_of(with_line("layers", "n_layer: 2"));
  EXPECT_CONTAINS(msg, "model.n_layer: unknown key");
  EXPECT_CONTAINS(msg, "bad.yaml:9:");
}

TEST(ModelConfig, MissingKey) {
  EXPECT_CONTAINS(error_of(with_line("vocab_size", "")), "model.vocab_size: missing required key");
  EXPECT_CONTAINS(error_of(with_line("bias", "")), "model.bias: missing required key");
}

TEST(ModelConfig, HeadsMustDivideWidth) {
  EXPECT_CONTAINS(error_of(with_line("n_heads", "n_heads: 5")),
                  "model.n_heads: 5 must divide d_model (32)");
  EXPECT_CONTAINS(error_of(with_line("n_heads", "n_heads: 4\n  n_kv_heads: 3")),
                  "model.n_kv_heads: 3 must divide n_heads (4)");
}

TEST(ModelConfig, ZeroAndNegativeSizes) {
  EXPECT_CONTAINS(error_of(with_line("d_model", "d_model: 0")), "model.d_model: 0 is out of range");
  EXPECT_CONTAINS(error_of(with_line("layers", "layers: -3")), "model.layers: -3 is out of range");
  EXPECT_CONTAINS(error_of(with_line("ffn_dim", "ffn_ratio: -1.5")), "model.ffn_ratio: -1.5 is out of range");
}

TEST(ModelConfig, WrongTypesAndChoices) {
  EXPECT_CONTAINS(error_of(with_line("vocab_size", "vocab_size: lots")),
                  "model.vocab_size: 'lots' is not an integer");
  EXPECT_CONTAINS(error_of(with_line("vocab_size", "vocab_size: 12.5")), "is not an integer");
  EXPECT_CONTAINS(error_of(with_line("bias", "bias: maybe")), "model.bias: 'maybe' is not a boolean");
  EXPECT_CONTAINS(error_of(with_line("norm", "norm: batchnorm")),
                  "model.norm: 'batchnorm' is not one of: layernorm, rmsnorm");
  EXPECT_CONTAINS(error_of(with_line("layers", "layers: [1, 2]")), "model.layers: must be a single value");
  EXPECT_CONTAINS(error_of(with_line("ffn_dim", "ffn_dim: .nan")), "is not an integer");
}

TEST(ModelConfig, FfnGivenExactlyOnce) {
  EXPECT_CONTAINS(error_of(with_line("ffn_dim", "ffn_dim: 64\n  ffn_ratio: 2")),
                  "give exactly one of ffn_dim or ffn_ratio");
  EXPECT_CONTAINS(error_of(with_line("ffn_dim", "")), "give exactly one of ffn_dim or ffn_ratio");
}

TEST(ModelConfig, RopeNeedsEvenHeadSize) {
  std::string t = with_line("n_heads", "n_heads: 32");
  t.replace(t.find("position: learned"), 17, "position: rope");
  EXPECT_CONTAINS(error_of(t), "RoPE needs an even head size");
}

TEST(ModelConfig, OptionsOfTheOtherPositionKindAreRejected) {
  EXPECT_CONTAINS(error_of(with_line("bias", "bias: true\n  rope_theta: 500")),
                  "model.rope_theta: applies to position: rope only");
}

TEST(ModelConfig, BlocksErrorsNameTheBlock) {
  std::string base = kGood;
  base = base.substr(0, base.find("  layers:"));
  EXPECT_CONTAINS(error_of(base + "  blocks: []\n"), "model.blocks: must be a non-empty list");
  EXPECT_CONTAINS(error_of(base + "  blocks:\n    - {layers: 1, d_model: 8, n_heads: 2, ffn_dim: 8}\n"
                                  "    - {layers: 1, d_model: 8, n_heads: 2, widht: 3, ffn_dim: 8}\n"),
                  "model.blocks[1].widht: unknown key");
  EXPECT_CONTAINS(error_of(base + "  blocks:\n    - {layers: 1, d_model: 9, n_heads: 2, ffn_dim: 8}\n"),
                  "model.blocks[0].n_heads: 2 must divide d_model (9)");
  EXPECT_CONTAINS(error_of(std::string(kGood) + "  blocks:\n    - {layers: 1, d_model: 8, n_heads: 2, ffn_dim: 8}\n"),
                  "give either a list of blocks or layers/d_model/n_heads, not both");
}

TEST(ModelConfig, FileLevelErrors) {
  EXPECT_CONTAINS(error_of("model:\n  vocab_size: [1, 2\n"), "YAML syntax error");
  EXPECT_CONTAINS(error_of("- just\n- a list\n"), "top level must be a mapping");
  EXPECT_CONTAINS(error_of("train:\n  steps: 3\n"), "model: missing required key");
  EXPECT_THROW(load_model_config("/nonexistent/merino/config.yaml"), ConfigError);
  try {
    load_model_config("/nonexistent/merino/config.yaml");
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "/nonexistent/merino/config.yaml: cannot open file");
  }
}

TEST(ModelConfig, ShippedConfigsParse) {
  for (const char* name : {"gpt2-124m", "opt-125m", "mobilellm-125m", "mobilellm-350m",
                           "mobilellm-125m-ls", "merino-example", "tiny"}) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + name + ".yaml"));
  }
  EXPECT_THROW(load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/fixtures/bad.yaml"), ConfigError);
}
