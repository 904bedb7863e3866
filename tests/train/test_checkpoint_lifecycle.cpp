// The checkpoint lifecycle of issue 22: a step written again replaces the old one, pruning by
// step never loses the checkpoint just written, a killed writer's scratch is recovered, a
// non-finite weight is neither written nor loaded, and one trainer holds a run.dir at a time.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "base/errors.h"
#include "base/sha256.h"
#include "model/config.h"
#include "model/param_layout.h"
#include "temp_path.h"
#include "train/checkpoint.h"
#include "train/run_dir_lock.h"

namespace fs = std::filesystem;
using namespace merino;

namespace {

ParamLayout layout() {
  return build_param_layout(load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/model/configs/tiny-gpt2.yaml"));
}

CheckpointData weights(const ParamLayout& l, int64_t step, float value) {
  CheckpointData d;
  d.state.step = step;
  d.params.assign(l.total, value);
  d.exp_avg.assign(l.total, 0.f);
  d.exp_avg_sq.assign(l.total, 0.f);
  d.config_yaml = "value: " + std::to_string(value) + "\n";
  return d;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = merino::test::temp_path("lifecycle_" + name);
  fs::remove_all(dir);
  return dir;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(checkpoint_lifecycle, WritingAStepAgainReplacesIt) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("replace");
  save_checkpoint(run, l, weights(l, 5, 1.f), 3);
  save_checkpoint(run, l, weights(l, 10, 1.f), 3);
  // resumed from step 5 with other settings: the new step 10 must win
  save_checkpoint(run, l, weights(l, 10, 2.f), 3);
  EXPECT_EQ(load_checkpoint(run + "/step_00000010", l).params[0], 2.f);
  EXPECT_EQ(entries(run), (std::vector<std::string>{"latest", "step_00000005", "step_00000010"}));
}

TEST(checkpoint_lifecycle, PruningKeepsTheCheckpointJustWrittenAndDropsLaterSteps) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("prune");
  for (int64_t s : {30, 35, 40}) save_checkpoint(run, l, weights(l, s, 1.f), 3);
  // every old one corrupt, the run restarted: step 5 and 6 are the run now
  save_checkpoint(run, l, weights(l, 5, 2.f), 3);
  save_checkpoint(run, l, weights(l, 6, 3.f), 3);
  EXPECT_EQ(entries(run), (std::vector<std::string>{"latest", "step_00000005", "step_00000006"}));
  EXPECT_EQ(fs::read_symlink(run + "/latest"), "step_00000006");
}

TEST(checkpoint_lifecycle, PruningOrdersByStepNumberNotByName) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("order");
  // past 10^8 steps the zero padding no longer orders names like numbers
  for (int64_t s : {99999999, 100000000, 100000001}) save_checkpoint(run, l, weights(l, s, 1.f), 2);
  EXPECT_EQ(entries(run), (std::vector<std::string>{"latest", "step_100000000", "step_100000001"}));
}

TEST(checkpoint_lifecycle, RunWithoutLatestStillHoldsCheckpoints) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("no_latest");
  EXPECT_FALSE(holds_checkpoints(run));
  save_checkpoint(run, l, weights(l, 5, 1.f), 3);
  fs::remove(run + "/latest");
  EXPECT_TRUE(holds_checkpoints(run));
}

TEST(checkpoint_lifecycle, RecoveryPutsBackACheckpointMovedAsideAndDropsPartialOnes) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("recover");
  save_checkpoint(run, l, weights(l, 5, 1.f), 3);
  // killed between moving step_5 aside and renaming its replacement in
  fs::rename(run + "/step_00000005", run + "/.old-step_00000005-4242");
  fs::create_directories(run + "/.tmp-step_00000005-4242");
  recover_run_dir(run);
  EXPECT_EQ(entries(run), (std::vector<std::string>{"latest", "step_00000005"}));
  EXPECT_EQ(load_checkpoint(run + "/latest", l).params[0], 1.f);
}

TEST(checkpoint_lifecycle, NonFiniteWeightsAreNeitherWrittenNorLoaded) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("nan");
  CheckpointData bad = weights(l, 5, 1.f);
  bad.params[l.entries[1].offset] = std::numeric_limits<float>::quiet_NaN();
  ASSERT_TRUE(non_finite_values(l, bad).has_value());
  EXPECT_NE(non_finite_values(l, bad)->find("tensor '" + l.entries[1].name + "' holds 1 non-finite values"),
            std::string::npos);
  EXPECT_THROW(save_checkpoint(run, l, bad, 3), std::logic_error);
  EXPECT_FALSE(fs::exists(run + "/step_00000005"));

  // a file written by something else, with a consistent sha256: refused by name on load
  const std::string dir = save_checkpoint(run, l, weights(l, 5, 1.f), 3);
  const std::string model = dir + "/model.safetensors";
  std::ifstream in(model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(&bytes[bytes.size() - 4], &inf, 4);  // the last weight of the last tensor
  std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes;
  nlohmann::json state = nlohmann::json::parse(std::ifstream(dir + "/state.json"));
  state["files"]["model.safetensors"]["sha256"] = sha256_hex(bytes);
  std::ofstream(dir + "/state.json", std::ios::trunc) << state.dump();
  try {
    load_checkpoint(dir, l);
    FAIL() << "loaded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors: tensor '"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("holds 1 non-finite values"), std::string::npos) << e.what();
  }
}

TEST(checkpoint_lifecycle, ADirectoryAsACheckpointPartIsNamed) {
  const ParamLayout l = layout();
  const std::string run = fresh_dir("dir_part");
  save_checkpoint(run, l, weights(l, 5, 1.f), 3);
  save_checkpoint(run, l, weights(l, 10, 1.f), 3);
  fs::remove(run + "/step_00000010/model.safetensors");
  fs::create_directory(run + "/step_00000010/model.safetensors");
  try {
    load_checkpoint(run + "/step_00000010", l);
    FAIL() << "loaded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("step_00000010/model.safetensors: not a regular file"), std::string::npos)
        << e.what();
  }
  const auto found = load_latest_checkpoint(run, l);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->dir, run + "/step_00000005");
}

TEST(run_dir_lock, SecondHolderIsRefusedNamingTheFirst) {
  const std::string run = fresh_dir("lock");
  RunDirLock first(run);
  // flock locks belong to open file descriptions: another process contends like a second trainer
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      RunDirLock second(run);
      ::_exit(1);
    } catch (const RunDirBusy& e) {
      const std::string want = "in use by another merino train (pid " + std::to_string(::getppid());
      ::_exit(std::string(e.what()).find(want) != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(run_dir_lock, ReleasedWhenTheHolderEnds) {
  const std::string run = fresh_dir("unlock");
  { RunDirLock first(run); }
  EXPECT_NO_THROW(RunDirLock again(run));
}
