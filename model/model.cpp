#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "model/init.h"

namespace merino {

template <class T>
struct Model<T>::Step {
  int block = 0;
  const LayerOffsets* set = nullptr;
  bool projects_in = false;  // first executed layer of a block whose width differs
  int in_w = 0;              // projects_in: the width projected from
};

template <class T>
struct Model<T>::LayerActs {
  T* proj_out = nullptr;  // input after the width projection (projects_in only)
  T* ln1 = nullptr;
  A *ln1_mean = nullptr, *ln1_rstd = nullptr;
  T *qkv = nullptr, *att = nullptr;
  A* lse = nullptr;
  T* x_mid = nullptr;
  T* ln2 = nullptr;
  A *ln2_mean = nullptr, *ln2_rstd = nullptr;
  T *h = nullptr, *a = nullptr;
  T* x_out = nullptr;
};

template <class T>
struct Model<T>::Scratch {
  int32_t *tokens = nullptr, *targets = nullptr;
  T* embed_out = nullptr;
  T* lnf = nullptr;
  A *lnf_mean = nullptr, *lnf_rstd = nullptr;
  T* lm_in_proj = nullptr;  // lnf projected to the embedding width (tied, widths differ)
  T* logits = nullptr;
  A* losses = nullptr;
  // backward
  T *dresid = nullptr, *dresid_alt = nullptr, *dln = nullptr, *dqkv = nullptr, *datt = nullptr;
  T *dh = nullptr, *da = nullptr, *dlm = nullptr;
};

template <class T>
std::vector<typename Model<T>::Step> Model<T>::build_steps(const ModelConfig& cfg,
                                                           const ParamLayout& layout) {
  std::vector<Step> steps;
  for (size_t bi = 0; bi < cfg.blocks.size(); ++bi) {
    const BlockConfig& b = cfg.blocks[bi];
    const BlockOffsets& bo = layout.blocks[bi];
    for (int e = 0; e < b.executed_layers(); ++e) {
      Step s;
      s.block = int(bi);
      s.set = &bo.sets[b.share ? 0 : e / b.repeat];
      s.projects_in = e == 0 && bo.proj_in_w != LayerOffsets::kNone;
      s.in_w = steps.empty() ? cfg.embed_dim() : cfg.blocks[size_t(steps.back().block)].d_model;
      steps.push_back(s);
    }
  }
  return steps;
}

// The constructor allocates these three in this order, as memory_plan() counts them. The
// parameters the ops read and their gradients carry the LM head's zero padding rows past `total`
// (param_layout.h): allocations are zero-filled and nothing writes a padding row but the head's
// weight gradient, which adds zero there (padding logits get no gradient). The master weights
// are only the optimizer's, which never reads the head as a GEMM, so they stop at `total`.
template <class T>
Model<T>::Model(const ModelConfig& cfg, Backend<T>& backend)
    : cfg_(cfg),
      kinds_(sublayer_kinds(cfg)),
      be_(backend),
      layout_(build_param_layout(cfg)),
      steps_(build_steps(cfg_, layout_)),
      sc_(new Scratch) {
  const size_t padded = layout_.total + layout_.head_padding;
  params_ = alloc<T>(padded);
  if constexpr (kMixedPrecision<T>)
    master_ = alloc<A>(layout_.total);
  else
    master_ = params_;
  grads_ = alloc<A>(padded);
  plan_grad_ready();
}

template <class T>
MemoryPlan Model<T>::memory_plan(const ModelConfig& cfg, int B, int Tn) {
  const ParamLayout layout = build_param_layout(cfg);
  const size_t padded = layout.total + layout.head_padding;
  MemoryPlan plan;
  plan.add("parameters", padded * sizeof(T));
  if constexpr (kMixedPrecision<T>) plan.add("master weights", layout.total * sizeof(A));
  plan.add("gradients", padded * sizeof(A));
  std::vector<LayerActs> acts;
  Scratch scratch;
  lay_out_activations(cfg, layout, build_steps(cfg, layout), size_t(B) * Tn, acts, scratch,
                      [&](size_t bytes) -> void* {
                        plan.add("activations", bytes);
                        return nullptr;
                      });
  plan.batch = B;
  plan.seq_len = Tn;
  plan.width = cfg.max_width();  // the embedding and final widths are blocks' widths
  for (const BlockConfig& b : cfg.blocks) plan.heads = std::max(plan.heads, b.n_heads);
  return plan;
}

// A parameter's gradient is final after the backward of the earliest executed layer using it
// (backward runs from the last layer down); the token and position tables only after the
// embedding's backward (the token table also receives the tied head's gradient); everything
// else (final norm, head, head projection) right after the head's backward.
template <class T>
void Model<T>::plan_grad_ready() {
  constexpr int kHead = -1, kEnd = -2;
  std::vector<int> phase(layout_.entries.size(), kHead);
  auto entry_at = [&](size_t offset) {
    for (size_t e = 0; e < layout_.entries.size(); ++e)
      if (layout_.entries[e].offset == offset) return e;
    throw std::logic_error("plan_grad_ready: no parameter at offset " + std::to_string(offset));
  };
  for (size_t off : {layout_.wte, layout_.wpe})
    if (off != LayerOffsets::kNone) phase[entry_at(off)] = kEnd;
  for (size_t i = steps_.size(); i-- > 0;) {  // the smallest index using an entry wins
    // a parameter set is contiguous from ln1_w to its last tensor; the fused q/k/v and gate/up
    // parts inside it have no offset of their own in LayerOffsets
    const LayerOffsets& o = *steps_[i].set;
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t off : {o.ln1_w, o.ln1_b, o.qkv_w, o.qkv_b, o.o_w, o.o_b, o.ln2_w, o.ln2_b, o.fc_w,
                       o.fc_b, o.proj_w, o.proj_b})
      if (off != LayerOffsets::kNone) lo = std::min(lo, off), hi = std::max(hi, off);
    for (size_t e = 0; e < layout_.entries.size(); ++e)
      if (layout_.entries[e].offset >= lo && layout_.entries[e].offset <= hi) phase[e] = int(i);
    if (steps_[i].projects_in) {
      const BlockOffsets& bo = layout_.blocks[steps_[i].block];
      for (size_t off : {bo.proj_in_w, bo.proj_in_b})
        if (off != LayerOffsets::kNone) phase[entry_at(off)] = int(i);
    }
  }
  ready_after_step_.assign(steps_.size(), {});
  // entries are in offset order; walking them backwards yields each phase's ranges from the top
  // of the buffer down, merged where adjacent
  for (size_t e = layout_.entries.size(); e-- > 0;) {
    const ParamEntry& p = layout_.entries[e];
    auto& list = phase[e] == kHead  ? ready_after_head_
                 : phase[e] == kEnd ? ready_at_end_
                                    : ready_after_step_[size_t(phase[e])];
    if (!list.empty() && p.offset + p.numel == list.back().first) {
      list.back().first = p.offset;
      list.back().second += p.numel;
    } else {
      list.emplace_back(p.offset, p.numel);
    }
  }
}

template <class T>
void Model<T>::report_ready(const std::vector<std::pair<size_t, size_t>>& ranges) {
  if (!grad_ready_) return;
  for (const auto& [offset, numel] : ranges) grad_ready_(offset, numel);
}

template <class T>
Model<T>::~Model() {
  for (void* p : act_owned_) be_.release(p);
  for (void* p : owned_) be_.release(p);
}

template <class T>
template <class U>
U* Model<T>::alloc(size_t n) {
  U* p = be_.template alloc_as<U>(n);
  owned_.push_back(p);
  return p;
}

template <class T>
void Model<T>::init_weights(uint64_t seed) {
  set_params(initial_weights<A>(cfg_, layout_, seed));
}

template <class T>
void Model<T>::set_params(const std::vector<A>& host, const AdamWStep& rounding) {
  if (host.size() != layout_.total)
    throw std::invalid_argument("set_params: expected " + std::to_string(layout_.total) +
                                " values, got " + std::to_string(host.size()));
  be_.upload(master_, host.data(), host.size());
  narrow_params(rounding);
}

template <class T>
void Model<T>::narrow_params(const AdamWStep& step) {
  if constexpr (kMixedPrecision<T>) be_.narrow(params_, master_, layout_.total, step, 0);
}

template <class T>
std::vector<typename Model<T>::A> Model<T>::get_params() {
  std::vector<A> h(layout_.total);
  be_.download(h.data(), master_, h.size());
  return h;
}

template <class T>
std::vector<typename Model<T>::A> Model<T>::get_grads() {
  std::vector<A> h(layout_.total);
  be_.download(h.data(), grads_, h.size());
  return h;
}

template <class T>
void Model<T>::zero_grads() {
  be_.zero(grads_, layout_.total + layout_.head_padding);
}

template <class T>
void Model<T>::ensure_activations(int B, int Tn) {
  const size_t N = size_t(B) * Tn;
  if (N <= act_tokens_) return;
  for (void* p : act_owned_) be_.release(p);
  act_owned_.clear();
  lay_out_activations(cfg_, layout_, steps_, N, acts_, *sc_, [&](size_t bytes) {
    void* p = be_.alloc_bytes(bytes);
    act_owned_.push_back(p);
    return p;
  });
  act_tokens_ = N;
}

// Every activation buffer is taken here and only here, for the model and for memory_plan() alike;
// what is allocated depends on the config only, never on a pointer `take` returned (the plan's
// take returns null).
template <class T>
void Model<T>::lay_out_activations(const ModelConfig& cfg, const ParamLayout& layout,
                                   const std::vector<Step>& steps, size_t N,
                                   std::vector<LayerActs>& acts, Scratch& s, const Take& take) {
  // activations in T, statistics in the accumulation type
  auto act = [&](size_t n) { return static_cast<T*>(take(n * sizeof(T))); };
  auto stat = [&](size_t n) { return static_cast<A*>(take(n * sizeof(A))); };
  const bool ln = cfg.norm == NormKind::LayerNorm;
  const size_t glu = cfg.activation == ActivationKind::SwiGLU ? 2 : 1;
  acts.assign(steps.size(), LayerActs{});
  size_t max_qkv = 0, max_ffn = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    const BlockConfig& b = cfg.blocks[steps[i].block];
    const size_t C = b.d_model, F = b.ffn_dim;
    LayerActs& a = acts[i];
    if (steps[i].projects_in) a.proj_out = act(N * C);
    a.ln1 = act(N * C);
    if (ln) a.ln1_mean = stat(N);
    a.ln1_rstd = stat(N);
    a.qkv = act(N * b.qkv_dim());
    a.att = act(N * C);
    a.lse = stat(N * b.n_heads);
    a.x_mid = act(N * C);
    a.ln2 = act(N * C);
    if (ln) a.ln2_mean = stat(N);
    a.ln2_rstd = stat(N);
    a.h = act(N * glu * F);
    a.a = act(N * F);
    a.x_out = act(N * C);
    max_qkv = std::max(max_qkv, size_t(b.qkv_dim()));
    max_ffn = std::max(max_ffn, F);
  }
  const size_t Cmax = cfg.max_width(), E = cfg.embed_dim(), Cf = cfg.final_dim();
  const bool lm_proj = layout.lm_proj_w != LayerOffsets::kNone;
  s = Scratch{};
  s.tokens = static_cast<int32_t*>(take(N * sizeof(int32_t)));
  s.targets = static_cast<int32_t*>(take(N * sizeof(int32_t)));
  s.embed_out = act(N * E);
  s.lnf = act(N * Cf);
  s.lnf_mean = ln ? stat(N) : nullptr;
  s.lnf_rstd = stat(N);
  s.lm_in_proj = lm_proj ? act(N * E) : nullptr;
  s.logits = act(N * size_t(cfg.padded_vocab()));
  s.losses = stat(N);
  s.dresid = act(N * Cmax);
  s.dresid_alt = act(N * Cmax);
  s.dln = act(N * Cmax);
  s.dqkv = act(N * max_qkv);
  s.datt = act(N * Cmax);
  s.dh = act(N * glu * max_ffn);
  // the GELU's input gradient comes straight out of the fused GEMM (matmul_gelu_backward)
  s.da = cfg.activation == ActivationKind::GELU ? nullptr : act(N * max_ffn);
  s.dlm = lm_proj ? act(N * E) : nullptr;
}

template <class T>
typename Model<T>::A Model<T>::forward(const int32_t* tokens, const int32_t* targets, int B,
                                       int Tn) {
  std::vector<A> losses;
  return run_forward(tokens, targets, B, Tn, false, A(1), losses);
}

template <class T>
typename Model<T>::A Model<T>::forward(const int32_t* tokens, const int32_t* targets, int B, int Tn,
                                       std::vector<A>& losses) {
  return run_forward(tokens, targets, B, Tn, false, A(1), losses);
}

template <class T>
const T* Model<T>::logits() const {
  return sc_ ? sc_->logits : nullptr;
}

template <class T>
typename Model<T>::A Model<T>::forward_backward(const int32_t* tokens, const int32_t* targets,
                                                int B, int Tn, A grad_scale) {
  std::vector<A> losses;
  return run_forward(tokens, targets, B, Tn, true, grad_scale, losses);
}

template <class T>
const T* Model<T>::param(size_t offset) const {
  return offset == LayerOffsets::kNone ? nullptr : params_ + offset;
}

template <class T>
typename Model<T>::A* Model<T>::grad(size_t offset) {
  return offset == LayerOffsets::kNone ? nullptr : grads_ + offset;
}

template <class T>
typename Model<T>::NormSite Model<T>::ln1_site(size_t step) {
  const LayerOffsets& o = *steps_[step].set;
  LayerActs& a = acts_[step];
  return {param(o.ln1_w), param(o.ln1_b), a.ln1, a.ln1_mean, a.ln1_rstd};
}

template <class T>
typename Model<T>::NormSite Model<T>::ln2_site(size_t step) {
  const LayerOffsets& o = *steps_[step].set;
  LayerActs& a = acts_[step];
  return {param(o.ln2_w), param(o.ln2_b), a.ln2, a.ln2_mean, a.ln2_rstd};
}

template <class T>
typename Model<T>::NormSite Model<T>::final_norm_site() {
  return {param(layout_.lnf_w), param(layout_.lnf_b), sc_->lnf, sc_->lnf_mean, sc_->lnf_rstd};
}

template <class T>
void Model<T>::norm_backward(T* dx, size_t w, size_t b, const T* dout, const T* x, const A* mean,
                             const A* rstd, int N, int C) {
  if (cfg_.norm == NormKind::LayerNorm)
    be_.layernorm_backward(dx, grad(w), grad(b), dout, x, param(w), mean, rstd, N, C);
  else
    be_.rmsnorm_backward(dx, grad(w), dout, x, param(w), rstd, N, C);
}

template <class T>
void Model<T>::layer_forward(size_t step, const T* x_in, const NormSite* next, int B, int Tn,
                             KVCache<T>* cache) {
  const Step& st = steps_[step];
  LayerActs& a = acts_[step];
  const BlockConfig& b = cfg_.blocks[st.block];
  const LayerOffsets& o = *st.set;
  const int N = B * Tn, C = b.d_model;

  // the previous layer already normalised x_in, fused with its residual add, unless this is the
  // first layer or a projection came in between
  if (step == 0 || st.projects_in) norm_forward(be_, kinds_, ln1_site(step), x_in, N, C);
  const AttentionDims dims{B, Tn, C, b.n_heads, b.n_kv_heads, b.head_dim()};
  AttentionCache<T> at;
  if (cache) {
    const typename KVCache<T>::Layer& l = cache->layers[step];
    at = {l.k, l.v, cache->length, cache->capacity};
  }
  forward_attention_sublayer(be_, kinds_, dims,
                             {param(o.qkv_w), param(o.qkv_b), param(o.o_w), param(o.o_b)}, x_in,
                             a.ln1, {a.qkv, a.att, a.lse, a.x_mid}, ln2_site(step),
                             cache ? &at : nullptr);
  forward_ffn_sublayer(be_, kinds_, N, C, b.ffn_dim,
                       {param(o.fc_w), param(o.fc_b), param(o.proj_w), param(o.proj_b)}, a.x_mid,
                       a.ln2, {a.h, a.a, a.x_out}, next);
}

template <class T>
void Model<T>::layer_backward(const Step& st, LayerActs& a, const T* x_in, T* dresid, int B,
                              int Tn) {
  const BlockConfig& b = cfg_.blocks[st.block];
  const LayerOffsets& o = *st.set;
  const int N = B * Tn, C = b.d_model, F = b.ffn_dim, hd = b.head_dim();
  const int q = b.n_heads * hd;
  Scratch& s = *sc_;
  const size_t NF = size_t(N) * F;

  // dresid holds d x_out; x_out = x_mid + proj(act(fc(norm2(x_mid))))
  int fc_out = F;
  switch (cfg_.activation) {
    case ActivationKind::GELU:  // one GEMM with a DGELU epilogue where the device has one
      be_.matmul_gelu_backward(s.dh, grad(o.proj_w), grad(o.proj_b), dresid, a.a, a.h,
                               param(o.proj_w), N, F, C);
      break;
    case ActivationKind::ReLU:
      be_.matmul_backward(s.da, grad(o.proj_w), grad(o.proj_b), dresid, a.a, param(o.proj_w), N, F,
                          C);
      be_.relu_backward(s.dh, s.da, a.h, NF);
      break;
    case ActivationKind::SwiGLU:
      be_.matmul_backward(s.da, grad(o.proj_w), grad(o.proj_b), dresid, a.a, param(o.proj_w), N, F,
                          C);
      be_.swiglu_backward(s.dh, s.da, a.h, N, F);
      fc_out = 2 * F;
      break;
  }
  be_.matmul_backward(s.dln, grad(o.fc_w), grad(o.fc_b), s.dh, a.ln2, param(o.fc_w), N, C, fc_out);
  norm_backward(dresid, o.ln2_w, o.ln2_b, s.dln, a.x_mid, a.ln2_mean, a.ln2_rstd, N, C);

  // dresid now holds d x_mid; x_mid = x_in + o_proj(attention(qkv(norm1(x_in))))
  be_.matmul_backward(s.datt, grad(o.o_w), grad(o.o_b), dresid, a.att, param(o.o_w), N, q, C);
  be_.attention_backward(s.dqkv, s.datt, a.qkv, a.att, a.lse, B, Tn, b.n_heads, b.n_kv_heads, hd);
  if (cfg_.position == PositionKind::RoPE)
    be_.rope_backward(s.dqkv, B, Tn, b.n_heads, b.n_kv_heads, hd, cfg_.rope_theta);
  be_.matmul_backward(s.dln, grad(o.qkv_w), grad(o.qkv_b), s.dqkv, a.ln1, param(o.qkv_w), N, C,
                      b.qkv_dim());
  norm_backward(dresid, o.ln1_w, o.ln1_b, s.dln, x_in, a.ln1_mean, a.ln1_rstd, N, C);
}

template <class T>
const T* Model<T>::projection_source(size_t i) const {
  return i == 0 ? sc_->embed_out : acts_[i - 1].x_out;
}

template <class T>
const T* Model<T>::step_input(size_t i) const {
  return steps_[i].projects_in ? acts_[i].proj_out : projection_source(i);
}

template <class T>
void Model<T>::check_tokens(const int32_t* tokens, int N) const {
  for (int i = 0; i < N; ++i)
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab_size)
      throw std::invalid_argument("forward: token " + std::to_string(tokens[i]) + " at position " +
                                  std::to_string(i) + " is outside the vocabulary [0, " +
                                  std::to_string(cfg_.vocab_size) + ")");
}

template <class T>
void Model<T>::forward_to_logits(int B, int Tn, KVCache<T>* cache, int first_logit) {
  Scratch& s = *sc_;
  const int N = B * Tn, E = cfg_.embed_dim(), Cf = cfg_.final_dim();
  const int past = cache ? cache->length : 0;
  be_.embedding_forward(s.embed_out, s.tokens, param(layout_.wte), param(layout_.wpe), B, Tn, E,
                        cfg_.position_offset + past);
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].projects_in) {
      const BlockOffsets& bo = layout_.blocks[steps_[i].block];
      be_.matmul_forward(acts_[i].proj_out, projection_source(i), param(bo.proj_in_w),
                         param(bo.proj_in_b), N, steps_[i].in_w,
                         cfg_.blocks[steps_[i].block].d_model);
    }
    // the last layer's output feeds the final norm (same width: final_dim is the last block's)
    const bool last = i + 1 == steps_.size();
    const NormSite next = last ? final_norm_site() : ln1_site(i + 1);
    layer_forward(i, step_input(i), last || !steps_[i + 1].projects_in ? &next : nullptr, B, Tn,
                  cache);
  }
  // only the final hidden states of positions first_logit.. of each row go on to the head
  if (first_logit > 0) gather_tail_rows(s.lnf, B, Tn, first_logit, Cf);
  const int rows = B * (Tn - first_logit);
  const T* head_in = s.lnf;
  int head_w = Cf;
  if (s.lm_in_proj) {
    be_.matmul_forward(s.lm_in_proj, s.lnf, param(layout_.lm_proj_w), nullptr, rows, Cf, E);
    head_in = s.lm_in_proj;
    head_w = E;
  }
  // Vp logit columns from the padded head; the loss reads the first V of each row
  be_.matmul_forward(s.logits, head_in, param(layout_.lm_head), nullptr, rows, head_w,
                     cfg_.padded_vocab());
}

// Moves rows first .. Tn - 1 of each of the B sequences of x ([B, Tn, C]) to the front, as
// [B, Tn - first, C]. A destination never lies after its source, so copies in order never
// overwrite rows still to be read; a sequence's rows move in one copy when its source and
// destination ranges do not overlap (copy_bytes needs that), row by row otherwise.
template <class T>
void Model<T>::gather_tail_rows(T* x, int B, int Tn, int first, int C) {
  const size_t keep = size_t(Tn - first), row = size_t(C) * sizeof(T);
  for (size_t b = 0; b < size_t(B); ++b) {
    const size_t src = b * size_t(Tn) + size_t(first), dst = b * keep;
    if (dst + keep <= src) {
      be_.copy_bytes(x + dst * size_t(C), x + src * size_t(C), keep * row);
    } else {
      for (size_t i = 0; i < keep; ++i)
        be_.copy_bytes(x + (dst + i) * size_t(C), x + (src + i) * size_t(C), row);
    }
  }
}

template <class T>
const T* Model<T>::forward_cached(KVCache<T>& cache, const int32_t* tokens, int B, int Tn,
                                  int first_logit) {
  if (B < 1 || Tn < 1 || B > cache.batch)
    throw std::invalid_argument("forward_cached: " + std::to_string(B) + " x " +
                                std::to_string(Tn) + " tokens for a cache of " +
                                std::to_string(cache.batch) + " rows");
  if (cache.length + Tn > cache.capacity)
    throw std::invalid_argument("forward_cached: " + std::to_string(cache.length) + " cached + " +
                                std::to_string(Tn) + " new positions exceed the cache capacity " +
                                std::to_string(cache.capacity));
  if (cache.layers.size() != steps_.size())
    throw std::invalid_argument("forward_cached: the cache has " +
                                std::to_string(cache.layers.size()) + " layers, the model " +
                                std::to_string(steps_.size()));
  if (first_logit < 0 || first_logit >= Tn)
    throw std::invalid_argument("forward_cached: first_logit " + std::to_string(first_logit) +
                                " outside [0, " + std::to_string(Tn) + ")");
  check_tokens(tokens, B * Tn);
  ensure_activations(B, Tn);
  be_.upload(sc_->tokens, tokens, size_t(B) * size_t(Tn));
  forward_to_logits(B, Tn, &cache, first_logit);
  cache.length += Tn;
  return sc_->logits;
}

template <class T>
typename Model<T>::A Model<T>::run_forward(const int32_t* tokens, const int32_t* targets, int B,
                                           int Tn, bool backward, A grad_scale,
                                           std::vector<A>& losses) {
  if (B < 1 || Tn < 1)
    throw std::invalid_argument("forward: batch and sequence length must be >= 1");
  if (Tn > cfg_.context_length)
    throw std::invalid_argument("forward: sequence length " + std::to_string(Tn) +
                                " exceeds context_length " + std::to_string(cfg_.context_length));
  const int N = B * Tn, V = cfg_.vocab_size, Vp = cfg_.padded_vocab();
  check_tokens(tokens, N);
  size_t scored = 0;
  for (int i = 0; i < N; ++i) {
    if (targets[i] == kIgnoreIndex) continue;
    if (targets[i] < 0 || targets[i] >= V)
      throw std::invalid_argument("forward: target " + std::to_string(targets[i]) +
                                  " at position " + std::to_string(i) +
                                  " is outside the vocabulary");
    ++scored;
  }
  ensure_activations(B, Tn);
  Scratch& s = *sc_;
  be_.upload(s.tokens, tokens, size_t(N));
  be_.upload(s.targets, targets, size_t(N));
  const int E = cfg_.embed_dim(), Cf = cfg_.final_dim();
  forward_to_logits(B, Tn, nullptr, 0);
  const T* x_last = acts_.back().x_out;
  const T* head_in = s.lm_in_proj ? s.lm_in_proj : s.lnf;
  const int head_w = s.lm_in_proj ? E : Cf;
  const A dscale = scored ? grad_scale / A(scored) : A(0);
  // the losses are downloaded once the whole pass is queued: a download waits for the device,
  // and one between the loss and the backward pass would leave the device idle while the host
  // queued the backward
  auto mean_loss = [&] {
    losses.resize(size_t(N));
    be_.download(losses.data(), s.losses, losses.size());
    double sum = 0;
    for (A l : losses) sum += double(l);
    return scored ? A(sum / double(scored)) : A(0);
  };
  if (!backward) {
    be_.crossentropy_forward(s.losses, s.logits, s.targets, N, V, Vp, kIgnoreIndex);
    return mean_loss();
  }
  be_.crossentropy_forward_backward(s.logits, s.losses, s.targets, N, V, Vp, kIgnoreIndex, dscale);

  // backward: logits now hold dlogits (zero in the padding columns)
  T* dhead_in = s.lm_in_proj ? s.dlm : s.dln;
  be_.matmul_backward(dhead_in, grad(layout_.lm_head), nullptr, s.logits, head_in,
                      param(layout_.lm_head), N, head_w, Vp);
  if (s.lm_in_proj)
    be_.matmul_backward(s.dln, grad(layout_.lm_proj_w), nullptr, s.dlm, s.lnf,
                        param(layout_.lm_proj_w), N, Cf, E);
  T* dresid = s.dresid;
  T* dother = s.dresid_alt;
  be_.zero(dresid, size_t(N) * Cf);
  norm_backward(dresid, layout_.lnf_w, layout_.lnf_b, s.dln, x_last, s.lnf_mean, s.lnf_rstd, N, Cf);
  report_ready(ready_after_head_);
  for (size_t i = steps_.size(); i-- > 0;) {
    layer_backward(steps_[i], acts_[i], step_input(i), dresid, B, Tn);
    if (steps_[i].projects_in) {
      const BlockOffsets& bo = layout_.blocks[steps_[i].block];
      be_.matmul_backward(dother, grad(bo.proj_in_w), grad(bo.proj_in_b), dresid,
                          projection_source(i), param(bo.proj_in_w), N, steps_[i].in_w,
                          cfg_.blocks[steps_[i].block].d_model);
      std::swap(dresid, dother);
    }
    report_ready(ready_after_step_[i]);
  }
  be_.embedding_backward(grad(layout_.wte), grad(layout_.wpe), dresid, s.tokens, B, Tn, E,
                         cfg_.position_offset);
  report_ready(ready_at_end_);
  return mean_loss();
}

template class Model<float>;
template class Model<double>;
template class Model<bf16>;

}  // namespace merino
