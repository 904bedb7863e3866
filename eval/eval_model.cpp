#include "eval/eval_model.h"

#include "base/errors.h"
#include "model/kv_cache.h"

namespace merino::eval {

EvalModel load_eval_model(const LoadedCheckpoint& ckpt, const std::string& device, int batch,
                          bool kv_cache) {
  EvalModel m{make_device_backend<float>(device, 0), nullptr};
  const int L = ckpt.config.context_length;
  MemoryPlan plan = Model<float>::memory_plan(ckpt.config, batch, L);
  if (kv_cache) KVCache<float>::add_to_plan(plan, ckpt.config, batch, L);
  try {
    m.device.backend->reserve(plan);  // refused up front with the sizes (kernels/backend.h)
  } catch (const EnvironmentError& e) {
    throw EnvironmentError("--batch " + std::to_string(batch) + " (" + std::to_string(batch) +
                           " x " + std::to_string(L) + " tokens per forward pass): " + e.what() +
                           "; lower --batch");
  }
  m.model = std::make_unique<Model<float>>(ckpt.config, *m.device.backend);
  m.model->set_params(ckpt.params);
  return m;
}

}  // namespace merino::eval
