// The model the CUDA training-step programs run (bench_cuda_model, cuda_production_check), set
// up as the trainer sets it up: configs/NAME.yaml, the memory plan for B x Tn tokens plus
// AdamW's two fp32 moments reserved on the CUDA backend before anything is allocated, weights
// initialised with seed 1, zero moments. The model may issue its ops through a decorator of the
// backend (bench/timing_backend.h); memory is always the backend's own.
#pragma once
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/adamw_step.h"
#include "kernels/bf16.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/config.h"
#include "model/model.h"
#include "model/param_layout.h"

namespace merino::bench {

template <class T>
class CudaTrainingModel {
 public:
  CudaTrainingModel(const std::string& config, CudaBackend<T>& be, Backend<T>& runs_on, int B,
                    int Tn)
      : be_(be),
        cfg_(load_model_config(std::string(MERINO_SOURCE_DIR) + "/configs/" + config + ".yaml")),
        n_(build_param_layout(cfg_).total) {
    MemoryPlan plan = Model<T>::memory_plan(cfg_, B, Tn);
    for (int i = 0; i < 2; ++i) plan.add("optimizer state", n_ * sizeof(float));
    be.reserve(plan);
    model_ = std::make_unique<Model<T>>(cfg_, runs_on);
    model_->init_weights(1);
    m_ = be.alloc_acc(n_);
    v_ = be.alloc_acc(n_);
  }
  CudaTrainingModel(const CudaTrainingModel&) = delete;
  CudaTrainingModel& operator=(const CudaTrainingModel&) = delete;
  ~CudaTrainingModel() {
    be_.release(m_);
    be_.release(v_);
  }

  const ModelConfig& config() const { return cfg_; }
  Model<T>& model() { return *model_; }

  // ids uniform over the vocabulary
  void random_tokens(std::mt19937& rng, std::vector<int32_t>& ids) const {
    for (int32_t& t : ids) t = int32_t(rng() % cfg_.vocab_size);
  }

  // One AdamW update of every parameter, issued through `on` (the backend or its decorator);
  // in mixed precision it also rewrites the bf16 working copy of the weights.
  void adamw_update(Backend<T>& on, const AdamWStep& step) {
    T* working = kMixedPrecision<T> ? model_->params() : nullptr;
    on.adamw_update(model_->master(), working, model_->grads(), m_, v_, n_, step, 0);
  }

 private:
  CudaBackend<T>& be_;
  ModelConfig cfg_;
  size_t n_;
  std::unique_ptr<Model<T>> model_;
  float* m_ = nullptr;
  float* v_ = nullptr;
};

}  // namespace merino::bench
