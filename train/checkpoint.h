// Checkpoints: a directory RUN/step_NNNNNNNN holding model.safetensors (HF tensor names),
// optimizer.safetensors (AdamW moments "exp_avg.NAME", "exp_avg_sq.NAME"; the fp32 parameters
// are the master weights on the CPU backend, so none are duplicated), config.yaml (the resolved
// run config) and state.json (step, tokens seen, loader state, file sizes and sha256s).
// Written atomically: everything goes into a temporary sibling directory that is fsynced and
// renamed into place (an older step_N moved aside first), then RUN/latest is re-pointed; a
// crash at any moment leaves either the old set of checkpoints or the new one, never a partial
// directory under a final name (docs/TRAINING.md, "Checkpoint lifecycle").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/errors.h"
#include "data/loader.h"
#include "model/param_layout.h"

namespace merino {

// The checkpoint is complete but belongs to a model of another shape.
struct CheckpointMismatch : DataError {
  using DataError::DataError;
};

struct CheckpointState {
  int64_t step = 0;  // optimizer steps completed
  uint64_t tokens_seen = 0;
  LoaderState loader;
  double elapsed_seconds = 0;
};

struct CheckpointData {
  CheckpointState state;
  std::vector<float> params, exp_avg, exp_avg_sq;  // laid out by the run's ParamLayout
  std::string config_yaml;
};

// Writes RUN/step_<step>, replacing one of that step already there, and points RUN/latest at
// it; then deletes the checkpoints of later steps (a timeline this run left by resuming from an
// earlier one) and all but the newest `keep_last` of the others, never the one just written.
// Returns the directory written. Throws EnvironmentError (disk full, permission) naming the
// path, and std::logic_error for non-finite values (the trainer stops before writing them).
// The caller holds the run directory's lock (train/run_dir_lock.h): the scratch names it uses
// end in its pid and it removes no other writer's.
std::string save_checkpoint(const std::string& run_dir, const ParamLayout& layout,
                            const CheckpointData& data, int keep_last);

// "tensor 'NAME' holds K non-finite values" for the first parameter or AdamW moment that does.
std::optional<std::string> non_finite_values(const ParamLayout& layout, const CheckpointData& data);

// RUN holds a checkpoint directory or a `latest` link (one without the other is still a run:
// a copy that dropped symlinks, a kill between rename and re-link).
bool holds_checkpoints(const std::string& run_dir);

// With the run directory's lock held: finishes what a killed writer left, putting back a
// checkpoint it had moved aside to replace and removing its partial temporaries.
void recover_run_dir(const std::string& run_dir);

// Loads and verifies (sha256, shapes against `layout`); throws DataError naming the file and
// the problem, e.g. a tensor missing or of another shape than the model expects, a part that is
// not a regular file, a state.json field of the wrong kind, a non-finite weight. Without
// `with_optimizer` the AdamW moments (twice the model's size) are neither read nor returned.
CheckpointData load_checkpoint(const std::string& dir, const ParamLayout& layout,
                               bool with_optimizer = true);

struct FoundCheckpoint {
  std::string dir;
  CheckpointData data;
};

// The newest checkpoint in RUN that loads and verifies; corrupt or partial ones are skipped
// with a warning on stderr; one of another model shape is an error (CheckpointMismatch).
// Empty when there is none.
std::optional<FoundCheckpoint> load_latest_checkpoint(const std::string& run_dir,
                                                      const ParamLayout& layout);

}  // namespace merino
