// A decoder-only transformer over any Backend: parameters and gradients are two flat device
// buffers laid out by ParamLayout; activations are kept per executed layer for the backward
// pass and (re)allocated only when a larger batch arrives.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "model/config.h"
#include "model/param_layout.h"

namespace merino {

template <class T>
class Model {
 public:
  static constexpr int32_t kIgnoreIndex = -1;

  Model(const ModelConfig& cfg, Backend<T>& backend);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  Backend<T>& backend() { return be_; }
  size_t num_params() const { return layout_.total; }
  T* params() { return params_; }  // device pointers
  T* grads() { return grads_; }

  // GPT-2 style: N(0, init_std), residual output projections scaled by 1/sqrt(2 * layers),
  // biases 0, norm weights 1. Deterministic in `seed` on any backend.
  void init_weights(uint64_t seed);
  void set_params(const std::vector<T>& host);
  std::vector<T> get_params();
  std::vector<T> get_grads();
  void zero_grads();

  // tokens, targets: host arrays of B*Tn ids; targets equal to kIgnoreIndex are not scored.
  // Returns the mean loss over scored targets (0 when none).
  T forward(const int32_t* tokens, const int32_t* targets, int B, int Tn);
  // Also writes the per-position losses (B*Tn, 0 where ignored) to `losses` on the host.
  T forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, std::vector<T>& losses);
  // Forward, then gradients of (grad_scale * mean loss) ADDED to grads() (accumulation).
  T forward_backward(const int32_t* tokens, const int32_t* targets, int B, int Tn,
                     T grad_scale = T(1));

  // While forward_backward runs, called with each range of grads() whose gradient is final for
  // this pass (no later op of the pass adds to it), from the output layer back to the embedding;
  // over one pass the ranges cover every parameter exactly once. Data parallelism uses it to
  // start summing gradients across ranks while the backward pass goes on. Empty: no calls.
  using GradReadyHook = std::function<void(size_t offset, size_t numel)>;
  void set_grad_ready_hook(GradReadyHook hook) { grad_ready_ = std::move(hook); }

 private:
  struct LayerActs;  // activations saved by one executed layer
  struct Step;       // one executed layer: which block, which parameter set
  void ensure_activations(int B, int Tn);
  // returns the mean loss; `losses` receives the per-position losses on the host
  T run_forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, bool backward,
                T grad_scale, std::vector<T>& losses);
  void layer_forward(const Step& s, LayerActs& a, const T* x_in, int B, int Tn);
  void layer_backward(const Step& s, LayerActs& a, const T* x_in, T* dresid, int B, int Tn);
  T* alloc(size_t n);
  void plan_grad_ready();
  void report_ready(const std::vector<std::pair<size_t, size_t>>& ranges);

  ModelConfig cfg_;
  Backend<T>& be_;
  ParamLayout layout_;
  std::vector<Step> steps_;
  T* params_ = nullptr;
  T* grads_ = nullptr;
  std::vector<void*> owned_;       // every device allocation, freed in the destructor
  std::vector<void*> act_owned_;   // activation allocations, replaced when the batch grows
  size_t act_tokens_ = 0;          // B*Tn the activations were sized for
  std::vector<LayerActs> acts_;
  struct Scratch;
  std::unique_ptr<Scratch> sc_;
  GradReadyHook grad_ready_;
  // ranges (offset, numel) final after the head's backward, after each step's backward, at the end
  std::vector<std::pair<size_t, size_t>> ready_after_head_, ready_at_end_;
  std::vector<std::vector<std::pair<size_t, size_t>>> ready_after_step_;
};

}  // namespace merino
