// Training config: overrides, strict validation, model given inline or by path.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "base/errors.h"
#include "temp_path.h"
#include "train/train_config.h"

using namespace merino;

namespace {

const char* kConfig = R"(model: configs/tiny.yaml
data: {dir: data/ptb}
run: {dir: runs/x}
batch: {micro_batch: 4, seq_len: 64}
optimizer: {lr: 6.0e-4}
schedule: {kind: linear, warmup_steps: 10}
train: {max_steps: 100}
checkpoint: {every: 50}
)";

std::string write(const std::string& text) {
  const std::string path = merino::test::temp_path("train.yaml");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    load_train_config(write(text), sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// the tests run from the source directory, where configs/tiny.yaml is
struct InSourceDir {
  InSourceDir() { EXPECT_EQ(chdir(MERINO_SOURCE_DIR), 0); }
};

}  // namespace

TEST(train_config, ParsesWithDefaultsAndModelPath) {
  InSourceDir here;
  const TrainConfig c = load_train_config(write(kConfig), {});
  EXPECT_EQ(c.model.blocks[0].d_model, 128);
  EXPECT_EQ(c.seq_len, 64);
  EXPECT_EQ(c.grad_accum, 1);
  EXPECT_EQ(c.tokens_per_step(), 256);
  EXPECT_DOUBLE_EQ(c.beta2, 0.95);
  EXPECT_EQ(c.schedule.total_steps, 100);
  EXPECT_NE(c.resolved_yaml.find("d_model: 128"), std::string::npos) << "model path not inlined";
}

TEST(train_config, OverridesApplyBeforeValidation) {
  InSourceDir here;
  const TrainConfig c = load_train_config(write(kConfig), {"train.max_steps=200", "run.dir=runs/t",
                                                            "optimizer.beta2=0.99"});
  EXPECT_EQ(c.max_steps, 200);
  EXPECT_EQ(c.run_dir, "runs/t");
  EXPECT_DOUBLE_EQ(c.beta2, 0.99);
  EXPECT_NE(c.resolved_yaml.find("max_steps: 200"), std::string::npos);
}

TEST(train_config, BadValuesAndKeysGiveOneLine) {
  InSourceDir here;
  EXPECT_NE(error_of(kConfig, {"train.max_stepz=3"}).find("train.max_stepz: unknown key"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"train.max_steps=0"}).find("train.max_steps: 0 is out of range"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"optimizer.lr=fast"}).find("optimizer.lr: 'fast' is not a finite number"),
            std::string::npos);
  EXPECT_NE(error_of(kConfig, {"batch.seq_len=4096"}).find("batch.seq_len: 4096 is out of range [1, 128]"),
            std::string::npos);
  EXPECT_NE(error_of(kConfig, {"nonsense"}).find("expected key.path=value"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"model.d_model=3"}).find("not a mapping"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"distributed.zero=1"}).find("distributed.zero: unknown key"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"distributed.bucket_mb=0"}).find("distributed.bucket_mb: 0 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kConfig) + "optimiser: {}\n").find("optimiser: unknown key"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"optimizer.lr=.nan"}).find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of(kConfig, {"run.attention=v3"}).find("run.attention: 'v3' is not one of: v2, v1"),
            std::string::npos);
}

// The CUDA attention kernels: v2 unless the run names v1.
TEST(train_config, AttentionKernelDefaultsToV2) {
  InSourceDir here;
  EXPECT_EQ(load_train_config(write(kConfig), {}).attention, "v2");
  EXPECT_EQ(load_train_config(write(kConfig), {"run.attention=v1"}).attention, "v1");
}
