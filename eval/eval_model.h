// The checkpoint's model on the device `merino eval --device` names, with all the memory of the
// run (the model at its context length, the batch the scorer uses) reserved before scoring, so a
// batch too large fails at once, with the sizes, instead of minutes in or by the OOM killer.
#pragma once
#include <memory>
#include <string>

#include "eval/eval_checkpoint.h"
#include "model/model.h"
#include "kernels/device_backend.h"

namespace merino::eval {

struct EvalModel {
  DeviceBackend<float> device;  // declared first: the model's buffers are released before it
  std::unique_ptr<Model<float>> model;
};

// batch: rows of the context length per forward pass (--batch, already resolved); kv_cache:
// also a KV cache of that many rows (the zero-shot scorer's prefix reuse). Throws
// EnvironmentError in one line naming --batch, the bytes the run needs and the memory available
// (or the limit) when it cannot have them.
EvalModel load_eval_model(const LoadedCheckpoint& ckpt, const std::string& device, int batch,
                          bool kv_cache);

}  // namespace merino::eval
