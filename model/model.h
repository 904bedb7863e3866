// A decoder-only transformer over any Backend: parameters and gradients are two flat device
// buffers laid out by ParamLayout; activations are kept per executed layer for the backward
// pass and (re)allocated only when a larger batch arrives.
// Mixed precision (T = bf16): the parameters the ops read are a bf16 working copy of fp32 master
// weights; gradients, norm statistics and losses are fp32 (A = acc_t<T>). The host sees only
// the master weights and fp32 gradients, so checkpoints are the same files in every precision.
// For T = float or double the master weights are the parameters.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/param_layout.h"
#include "model/sublayers.h"

namespace merino {

template <class T>
class Model {
 public:
  using A = acc_t<T>;
  static constexpr int32_t kIgnoreIndex = -1;

  Model(const ModelConfig& cfg, Backend<T>& backend);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // The device buffers a model of `cfg` holds for batches of up to B x Tn tokens (parameters,
  // master weights, gradients, activations), counted as the constructor and the first forward
  // allocate them; a trainer adds its own buffers and reserves the sum (Backend::reserve).
  static MemoryPlan memory_plan(const ModelConfig& cfg, int B, int Tn);

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  Backend<T>& backend() { return be_; }
  size_t num_params() const { return layout_.total; }
  // device pointers: the working copy the ops read, the master weights (the same buffer unless
  // mixed precision), the gradients
  T* params() { return params_; }
  A* master() { return master_; }
  A* grads() { return grads_; }

  // GPT-2 style: N(0, init_std), residual output projections scaled by 1/sqrt(2 * layers),
  // biases 0, norm weights 1. Deterministic in `seed` on any backend.
  void init_weights(uint64_t seed);
  // set_params writes the master weights and the working copy rounded from them as
  // narrow_params(rounding) does (a resumed run passes the step it resumes after)
  void set_params(const std::vector<A>& host, const AdamWStep& rounding = AdamWStep{});
  std::vector<A> get_params();
  std::vector<A> get_grads();
  // working copy = master weights, rounded with the stream of `step` (Backend::narrow); a no-op
  // without a separate working copy
  void narrow_params(const AdamWStep& step);
  void zero_grads();

  // tokens, targets: host arrays of B*Tn ids; targets equal to kIgnoreIndex are not scored.
  // Returns the mean loss over scored targets (0 when none).
  A forward(const int32_t* tokens, const int32_t* targets, int B, int Tn);
  // Also writes the per-position losses (B*Tn, 0 where ignored) to `losses` on the host.
  A forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, std::vector<A>& losses);
  // Device pointer to the last forward()'s logits, B*Tn rows of padded_vocab() (ModelConfig) of
  // which the first vocab_size are the vocabulary's, valid until the next forward; forward_backward
  // leaves gradients there instead. Evaluation reads it for the log-softmax over every vocabulary
  // entry and the argmax (eval/loglikelihood.h).
  const T* logits() const;
  // Incremental forward for decoding: tokens (host, [B, Tn]) continue the sequences held by
  // rows 0 .. B - 1 of `cache` (B <= cache.batch), at positions cache.length .. cache.length +
  // Tn - 1 (RoPE and learned positions alike, OPT's offset included); their k/v are appended and
  // cache.length grows by Tn. Returns logits() for positions first_logit .. Tn - 1 of each row,
  // laid out [B, Tn - first_logit, padded_vocab()]: the logits a full forward of each whole
  // sequence gives at those positions. The head runs on those rows only, the bulk of a small
  // model's cost: a prompt's prefill that reads only its last row passes first_logit = Tn - 1.
  // Rows of the cache past B are left as they were. The model's activations are reused, as by
  // forward().
  const T* forward_cached(KVCache<T>& cache, const int32_t* tokens, int B, int Tn,
                          int first_logit = 0);
  // Forward, then gradients of (grad_scale * mean loss) ADDED to grads() (accumulation).
  A forward_backward(const int32_t* tokens, const int32_t* targets, int B, int Tn,
                     A grad_scale = A(1));

  // While forward_backward runs, called with each range of grads() whose gradient is final for
  // this pass (no later op of the pass adds to it), from the output layer back to the embedding;
  // over one pass the ranges cover every parameter exactly once. Data parallelism uses it to
  // start summing gradients across ranks while the backward pass goes on. Empty: no calls.
  using GradReadyHook = std::function<void(size_t offset, size_t numel)>;
  void set_grad_ready_hook(GradReadyHook hook) { grad_ready_ = std::move(hook); }

 private:
  struct LayerActs;  // activations saved by one executed layer
  struct Step;       // one executed layer: which block, which parameter set
  struct Scratch;
  using Take = std::function<void*(size_t bytes)>;
  static std::vector<Step> build_steps(const ModelConfig& cfg, const ParamLayout& layout);
  void ensure_activations(int B, int Tn);
  // takes every activation buffer for N tokens from `take`, in one fixed order
  static void lay_out_activations(const ModelConfig& cfg, const ParamLayout& layout,
                                  const std::vector<Step>& steps, size_t N,
                                  std::vector<LayerActs>& acts, Scratch& s, const Take& take);
  void check_tokens(const int32_t* tokens, int N) const;
  // the input of executed layer i: the previous layer's output (the embedding's for the first),
  // projected when the block width changes (projection_source is what the projection reads)
  const T* projection_source(size_t i) const;
  const T* step_input(size_t i) const;
  // embedding, every layer, the final norm and the head for the B x Tn tokens in the scratch:
  // logits in the scratch. With a cache the tokens follow its cached positions (forward_cached).
  // The head runs for positions first_logit .. Tn - 1 of each row only (forward_cached).
  void forward_to_logits(int B, int Tn, KVCache<T>* cache, int first_logit);
  void gather_tail_rows(T* x, int B, int Tn, int first, int C);
  // returns the mean loss; `losses` receives the per-position losses on the host
  A run_forward(const int32_t* tokens, const int32_t* targets, int B, int Tn, bool backward,
                A grad_scale, std::vector<A>& losses);
  using NormSite = merino::NormSite<T>;
  const T* param(size_t offset) const;  // null for LayerOffsets::kNone
  A* grad(size_t offset);               // null for LayerOffsets::kNone
  NormSite ln1_site(size_t step);
  NormSite ln2_site(size_t step);
  NormSite final_norm_site();
  // the backward of the norm whose weight and bias are at offsets w, b (b: kNone for RMSNorm),
  // with the statistics its forward saved; norm_forward's mirror
  void norm_backward(T* dx, size_t w, size_t b, const T* dout, const T* x, const A* mean,
                     const A* rstd, int N, int C);
  // next: the norm that reads this layer's output (the next layer's first norm, or the final
  // norm), computed fused with the output's residual add; null when a projection comes first
  void layer_forward(size_t step, const T* x_in, const NormSite* next, int B, int Tn,
                     KVCache<T>* cache);
  void layer_backward(const Step& s, LayerActs& a, const T* x_in, T* dresid, int B, int Tn);
  template <class U>
  U* alloc(size_t n);
  void plan_grad_ready();
  void report_ready(const std::vector<std::pair<size_t, size_t>>& ranges);

  ModelConfig cfg_;
  SublayerKinds kinds_;
  Backend<T>& be_;
  ParamLayout layout_;
  std::vector<Step> steps_;
  T* params_ = nullptr;
  A* master_ = nullptr;
  A* grads_ = nullptr;
  std::vector<void*> owned_;      // every device allocation, freed in the destructor
  std::vector<void*> act_owned_;  // activation allocations, replaced when the batch grows
  size_t act_tokens_ = 0;         // B*Tn the activations were sized for
  std::vector<LayerActs> acts_;
  std::unique_ptr<Scratch> sc_;
  GradReadyHook grad_ready_;
  // ranges (offset, numel) final after the head's backward, after each step's backward, at the end
  std::vector<std::pair<size_t, size_t>> ready_after_head_, ready_at_end_;
  std::vector<std::vector<std::pair<size_t, size_t>>> ready_after_step_;
};

}  // namespace merino
