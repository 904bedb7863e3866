#include "model/param_layout.h"

namespace merino {
namespace {

// Appends tensors in order and hands back their offsets; names carry the checkpoint prefix.
struct LayoutBuilder {
  ParamLayout& out;
  size_t add(const std::string& name, std::vector<int64_t> shape, ParamRole role) {
    size_t n = 1;
    for (int64_t d : shape) n *= size_t(d);
    out.entries.push_back({name, std::move(shape), out.total, n, role});
    const size_t at = out.total;
    out.total += n;
    return at;
  }
};

struct Names {
  bool gpt2;
  std::string layer(int i) const {
    return gpt2 ? "h." + std::to_string(i) + "." : "model.layers." + std::to_string(i) + ".";
  }
  std::string block(int b) const {
    return (gpt2 ? "blocks." : "model.blocks.") + std::to_string(b) + ".";
  }
};

LayerOffsets add_layer(LayoutBuilder& lb, const ModelConfig& cfg, const BlockConfig& b,
                       const std::string& p, bool gpt2) {
  const int64_t C = b.d_model, hd = b.head_dim(), F = b.ffn_dim;
  const int64_t q = b.n_heads * hd, kv = b.n_kv_heads * hd;
  const bool ln_bias = cfg.norm == NormKind::LayerNorm;
  const bool swiglu = cfg.activation == ActivationKind::SwiGLU;
  LayerOffsets o;
  o.ln1_w = lb.add(p + (gpt2 ? "ln_1.weight" : "input_layernorm.weight"), {C}, ParamRole::Norm);
  if (ln_bias) o.ln1_b = lb.add(p + (gpt2 ? "ln_1.bias" : "input_layernorm.bias"), {C}, ParamRole::Bias);
  if (gpt2) {
    o.qkv_w = lb.add(p + "attn.c_attn.weight", {q + 2 * kv, C}, ParamRole::Matrix);
    if (cfg.bias) o.qkv_b = lb.add(p + "attn.c_attn.bias", {q + 2 * kv}, ParamRole::Bias);
    o.o_w = lb.add(p + "attn.c_proj.weight", {C, q}, ParamRole::Matrix);
    if (cfg.bias) o.o_b = lb.add(p + "attn.c_proj.bias", {C}, ParamRole::Bias);
  } else {
    o.qkv_w = lb.add(p + "self_attn.q_proj.weight", {q, C}, ParamRole::Matrix);
    lb.add(p + "self_attn.k_proj.weight", {kv, C}, ParamRole::Matrix);
    lb.add(p + "self_attn.v_proj.weight", {kv, C}, ParamRole::Matrix);
    if (cfg.bias) {
      o.qkv_b = lb.add(p + "self_attn.q_proj.bias", {q}, ParamRole::Bias);
      lb.add(p + "self_attn.k_proj.bias", {kv}, ParamRole::Bias);
      lb.add(p + "self_attn.v_proj.bias", {kv}, ParamRole::Bias);
    }
    o.o_w = lb.add(p + "self_attn.o_proj.weight", {C, q}, ParamRole::Matrix);
    if (cfg.bias) o.o_b = lb.add(p + "self_attn.o_proj.bias", {C}, ParamRole::Bias);
  }
  o.ln2_w = lb.add(p + (gpt2 ? "ln_2.weight" : "post_attention_layernorm.weight"), {C}, ParamRole::Norm);
  if (ln_bias)
    o.ln2_b = lb.add(p + (gpt2 ? "ln_2.bias" : "post_attention_layernorm.bias"), {C}, ParamRole::Bias);
  const std::string up = gpt2 ? "mlp.c_fc" : "mlp.up_proj";
  const std::string down = gpt2 ? "mlp.c_proj" : "mlp.down_proj";
  if (swiglu) {
    // gate then up, contiguous: the fused [2F, C] matrix produces [gate | up] rows
    o.fc_w = lb.add(p + (gpt2 ? "mlp.c_gate.weight" : "mlp.gate_proj.weight"), {F, C}, ParamRole::Matrix);
    lb.add(p + up + ".weight", {F, C}, ParamRole::Matrix);
    if (cfg.bias) {
      o.fc_b = lb.add(p + (gpt2 ? "mlp.c_gate.bias" : "mlp.gate_proj.bias"), {F}, ParamRole::Bias);
      lb.add(p + up + ".bias", {F}, ParamRole::Bias);
    }
  } else {
    o.fc_w = lb.add(p + up + ".weight", {F, C}, ParamRole::Matrix);
    if (cfg.bias) o.fc_b = lb.add(p + up + ".bias", {F}, ParamRole::Bias);
  }
  o.proj_w = lb.add(p + down + ".weight", {C, F}, ParamRole::Matrix);
  if (cfg.bias) o.proj_b = lb.add(p + down + ".bias", {C}, ParamRole::Bias);
  return o;
}

}  // namespace

const ParamEntry* ParamLayout::find(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

ParamLayout build_param_layout(const ModelConfig& cfg) {
  ParamLayout L;
  LayoutBuilder lb{L};
  const Names names{cfg.uses_hf_gpt2_names()};
  const bool gpt2 = names.gpt2;
  const int64_t E = cfg.embed_dim();
  auto add_wte = [&] {
    return lb.add(gpt2 ? "wte.weight" : "model.embed_tokens.weight", {cfg.vocab_size, E},
                  ParamRole::Embedding);
  };
  if (!cfg.tie_embeddings) L.wte = add_wte();  // else last, as the head
  if (cfg.position == PositionKind::Learned)
    L.wpe = lb.add("wpe.weight", {cfg.context_length + cfg.position_offset, E}, ParamRole::Embedding);

  int set_index = 0;
  int prev_width = int(E);
  for (size_t bi = 0; bi < cfg.blocks.size(); ++bi) {
    const BlockConfig& b = cfg.blocks[bi];
    BlockOffsets bo;
    if (b.d_model != prev_width) {
      const std::string p = names.block(int(bi));
      bo.proj_in_w = lb.add(p + "proj_in.weight", {b.d_model, prev_width}, ParamRole::Matrix);
      if (cfg.bias) bo.proj_in_b = lb.add(p + "proj_in.bias", {b.d_model}, ParamRole::Bias);
    }
    for (int s = 0; s < b.param_sets(); ++s)
      bo.sets.push_back(add_layer(lb, cfg, b, names.layer(set_index++), gpt2));
    L.blocks.push_back(std::move(bo));
    prev_width = b.d_model;
  }
  const int64_t Cf = cfg.final_dim();
  L.lnf_w = lb.add(gpt2 ? "ln_f.weight" : "model.norm.weight", {Cf}, ParamRole::Norm);
  if (cfg.norm == NormKind::LayerNorm)
    L.lnf_b = lb.add(gpt2 ? "ln_f.bias" : "model.norm.bias", {Cf}, ParamRole::Bias);
  if (cfg.tie_embeddings) {
    if (Cf != E) L.lm_proj_w = lb.add("lm_proj.weight", {E, Cf}, ParamRole::Matrix);
    L.wte = L.lm_head = add_wte();
  } else {
    L.lm_head = lb.add("lm_head.weight", {cfg.vocab_size, Cf}, ParamRole::Matrix);
  }
  const size_t head_width = size_t(cfg.tie_embeddings ? E : Cf);
  L.head_padding = size_t(cfg.padded_vocab() - cfg.vocab_size) * head_width;
  return L;
}

ModelCounts count_model(const ModelConfig& cfg) {
  ModelCounts c;
  const double V = cfg.vocab_size, E = cfg.embed_dim(), Cf = cfg.final_dim();
  const bool ln_bias = cfg.norm == NormKind::LayerNorm;
  const double glu = cfg.activation == ActivationKind::SwiGLU ? 2.0 : 1.0;
  double params = V * E;
  if (cfg.position == PositionKind::Learned) params += double(cfg.context_length + cfg.position_offset) * E;
  c.embedding_params = size_t(params);
  double executed = 0, attention_flops = 0;
  double prev = E;
  for (const BlockConfig& b : cfg.blocks) {
    const double C = b.d_model, q = double(b.n_heads) * b.head_dim(),
                 kv = double(b.n_kv_heads) * b.head_dim(), F = b.ffn_dim;
    double block = 0;
    if (C != prev) {
      block += C * prev + (cfg.bias ? C : 0);
      executed += C * prev;
    }
    const double matrices = C * (q + 2 * kv) + q * C + glu * F * C + F * C;
    const double biases = cfg.bias ? (q + 2 * kv) + C + glu * F + C : 0;
    const double norms = 2 * C * (ln_bias ? 2 : 1);
    block += b.param_sets() * (matrices + biases + norms);
    c.block_params.push_back(size_t(block));
    params += block;
    executed += b.executed_layers() * matrices;
    // scores q.k and the weighted sum over v: 2 matmuls of 2 * q FLOPs per context position
    attention_flops += b.executed_layers() * 4.0 * q * cfg.context_length;
    prev = C;
  }
  params += Cf * (ln_bias ? 2 : 1);
  if (cfg.tie_embeddings) {
    if (Cf != E) {
      params += E * Cf;
      executed += E * Cf;
    }
  } else {
    params += V * Cf;
  }
  executed += cfg.tie_embeddings ? V * E : V * Cf;  // LM head
  c.params = size_t(params);
  c.executed_matmul_params = size_t(executed);
  c.forward_flops_per_token = 2.0 * executed + attention_flops;
  c.training_flops_per_token = 3.0 * c.forward_flops_per_token;
  return c;
}

}  // namespace merino

