// Checkpoints: round trip, the safetensors bytes as the format defines them, and every kind of
// damage rejected with a message naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/errors.h"
#include "model/config.h"
#include "model/param_layout.h"
#include "temp_path.h"
#include "train/checkpoint.h"
#include "train/safetensors.h"

namespace fs = std::filesystem;
using namespace merino;

namespace {

ModelConfig tiny(int d_model = 8) {
  ModelConfig c = load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/model/configs/tiny-gpt2.yaml");
  c.blocks[0].d_model = d_model;
  return c;
}

CheckpointData sample(const ParamLayout& layout, int64_t step) {
  CheckpointData d;
  d.state.step = step;
  d.state.tokens_seen = uint64_t(step) * 1000;
  d.state.loader.epoch = 1;
  d.state.loader.shard = 2;
  d.state.loader.sequence = 33;
  d.state.elapsed_seconds = 1.5;
  for (size_t i = 0; i < layout.total; ++i) {
    d.params.push_back(0.001f * float(i) + float(step));
    d.exp_avg.push_back(-0.5f * float(i));
    d.exp_avg_sq.push_back(0.25f * float(i));
  }
  d.config_yaml = "model: {}\n";
  return d;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = merino::test::temp_path("ckpt_" + name);
  fs::remove_all(dir);
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string load_error(const std::string& dir, const ParamLayout& layout) {
  try {
    load_checkpoint(dir, layout);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(checkpoint, RoundTrip) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string run = fresh_dir("roundtrip");
  const CheckpointData d = sample(layout, 7);
  const std::string dir = save_checkpoint(run, layout, d, 3);
  EXPECT_EQ(dir, run + "/step_00000007");
  EXPECT_EQ(fs::read_symlink(run + "/latest"), "step_00000007");
  const CheckpointData back = load_checkpoint(dir, layout);
  EXPECT_EQ(back.params, d.params);
  EXPECT_EQ(back.exp_avg, d.exp_avg);
  EXPECT_EQ(back.exp_avg_sq, d.exp_avg_sq);
  EXPECT_EQ(back.state.step, 7);
  EXPECT_EQ(back.state.tokens_seen, 7000u);
  EXPECT_TRUE(back.state.loader == d.state.loader);
  EXPECT_EQ(back.config_yaml, d.config_yaml);
}

TEST(checkpoint, ModelFileIsSafetensorsWithHfNames) {
  // read the bytes by the format's definition, not through our reader
  const ParamLayout layout = build_param_layout(tiny());
  const std::string run = fresh_dir("format");
  const std::string bytes = slurp(save_checkpoint(run, layout, sample(layout, 1), 1) + "/model.safetensors");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const ParamEntry* wpe = layout.find("wpe.weight");
  ASSERT_NE(wpe, nullptr);
  const auto& t = header.at("wpe.weight");
  EXPECT_EQ(t.at("dtype"), "F32");
  EXPECT_EQ(t.at("shape"), nlohmann::json(wpe->shape));
  const size_t begin = t.at("data_offsets")[0];
  float first = 0;
  std::memcpy(&first, bytes.data() + 8 + n + begin, 4);
  EXPECT_EQ(first, 0.001f * float(wpe->offset) + 1.0f);
  EXPECT_EQ(bytes.size(), 8 + n + layout.total * 4);
  EXPECT_EQ((8 + n) % 8, 0u);
}

TEST(checkpoint, TruncatedFileIsRejected) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string dir = save_checkpoint(fresh_dir("trunc"), layout, sample(layout, 1), 1);
  const std::string path = dir + "/model.safetensors";
  const std::string bytes = slurp(path);
  spit(path, bytes.substr(0, bytes.size() / 2));
  const std::string msg = load_error(dir, layout);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(checkpoint, CorruptedByteIsRejected) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string dir = save_checkpoint(fresh_dir("corrupt"), layout, sample(layout, 1), 1);
  const std::string path = dir + "/optimizer.safetensors";
  std::string bytes = slurp(path);
  bytes[bytes.size() - 3] ^= 0x10;
  spit(path, bytes);
  const std::string msg = load_error(dir, layout);
  EXPECT_NE(msg.find(path + ": sha256 differs"), std::string::npos) << msg;
}

TEST(checkpoint, BrokenStateIsRejected) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string dir = save_checkpoint(fresh_dir("state"), layout, sample(layout, 1), 1);
  const std::string state = slurp(dir + "/state.json");
  spit(dir + "/state.json", state.substr(0, state.size() / 2));
  EXPECT_NE(load_error(dir, layout).find("state.json: not valid JSON"), std::string::npos);
  fs::remove(dir + "/state.json");
  EXPECT_NE(load_error(dir, layout).find("state.json: cannot open file"), std::string::npos);
}

TEST(checkpoint, ShapeMismatchNamesTheTensor) {
  const ParamLayout small = build_param_layout(tiny(8));
  const ParamLayout wide = build_param_layout(tiny(12));
  const std::string run = fresh_dir("mismatch");
  const std::string dir = save_checkpoint(run, small, sample(small, 1), 1);
  const std::string msg = load_error(dir, wide);
  // the first tensor in layout order: the position table (the tied token table is stored last)
  EXPECT_NE(msg.find("tensor 'wpe.weight' has shape [8, 8] but the model expects [8, 12]"),
            std::string::npos) << msg;
  EXPECT_THROW(load_latest_checkpoint(run, wide), CheckpointMismatch);
}

TEST(checkpoint, KeepLastPrunesOnlyOlderOnes) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string run = fresh_dir("prune");
  for (int64_t step : {10, 20, 30}) save_checkpoint(run, layout, sample(layout, step), 2);
  EXPECT_FALSE(fs::exists(run + "/step_00000010"));
  EXPECT_TRUE(fs::exists(run + "/step_00000020"));
  EXPECT_TRUE(fs::exists(run + "/step_00000030"));
  EXPECT_EQ(fs::read_symlink(run + "/latest"), "step_00000030");
}

TEST(checkpoint, LatestSkipsDamagedAndPartialCheckpoints) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string run = fresh_dir("latest");
  EXPECT_FALSE(load_latest_checkpoint(run, layout).has_value());
  save_checkpoint(run, layout, sample(layout, 10), 5);
  save_checkpoint(run, layout, sample(layout, 20), 5);
  spit(run + "/step_00000020/model.safetensors", "garbage");
  fs::create_directories(run + "/.tmp-step_00000030-999");  // a write cut by kill -9
  const auto found = load_latest_checkpoint(run, layout);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->dir, run + "/step_00000010");
  EXPECT_EQ(found->data.state.step, 10);
}

TEST(checkpoint, SafetensorsReaderRejectsBadHeaders) {
  const std::string path = merino::test::temp_path("bad.safetensors");
  auto error_for = [&](const std::string& bytes) {
    spit(path, bytes);
    try {
      read_safetensors(path);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto with_header = [](const std::string& json, size_t data_bytes) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((json.size() >> (8 * i)) & 0xff);
    return out + json + std::string(data_bytes, '\0');
  };
  EXPECT_NE(error_for("abc").find("shorter than the 8-byte header"), std::string::npos);
  EXPECT_NE(error_for(std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8)).find("exceeds the file"), std::string::npos);
  EXPECT_NE(error_for(with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_for(with_header(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", 2))
                .find("dtype"), std::string::npos);
  EXPECT_NE(error_for(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4))
                .find("outside the file"), std::string::npos);
  EXPECT_NE(error_for(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
                .find("does not match its shape"), std::string::npos);
  // 2^62 floats are 2^64 bytes, which wraps to the empty byte range given
  EXPECT_NE(error_for(with_header(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0))
                .find("tensor 'a' shape [4611686018427387904]: the element count overflows"), std::string::npos);
  EXPECT_NE(error_for(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12))
                .find("overlap"), std::string::npos);
}

TEST(checkpoint, ModelOnlyLoadSkipsTheOptimizerFile) {
  const ParamLayout layout = build_param_layout(tiny());
  const std::string dir = save_checkpoint(fresh_dir("model_only"), layout, sample(layout, 4), 1);
  fs::remove(dir + "/optimizer.safetensors");
  const CheckpointData d = load_checkpoint(dir, layout, /*with_optimizer=*/false);
  EXPECT_EQ(d.params, sample(layout, 4).params);
  EXPECT_TRUE(d.exp_avg.empty());
  EXPECT_EQ(d.state.step, 4);
  EXPECT_NE(load_error(dir, layout).find("optimizer.safetensors: cannot open file"), std::string::npos);
}
