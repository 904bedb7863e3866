// Where every parameter lives in the one contiguous parameter buffer: name, shape, offset.
// Names follow Hugging Face GPT-2 (learned positions) or LLaMA (RoPE) checkpoints, so the table
// maps directly to safetensors. Matrices are stored [out, in] (nn.Linear layout); q/k/v and
// gate/up are separate named tensors placed back to back, so each pair or triple is also one
// fused [sum(out), in] matrix that a single matmul consumes.
// The LM-head matrix (the token embedding when tied) is the last tensor, so the zero rows that
// pad it to ModelConfig::padded_vocab() rows in device memory lie past `total`: the padding is
// no parameter, and the optimizer, the all-reduce, checkpoints and counts never see it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace merino {

enum class ParamRole { Embedding, Matrix, Norm, Bias };

struct ParamEntry {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;
  size_t numel = 0;
  ParamRole role = ParamRole::Matrix;
};

// Offsets (in elements) of one layer's parameter set; kNone where the tensor does not exist.
struct LayerOffsets {
  static constexpr size_t kNone = SIZE_MAX;
  size_t ln1_w = kNone, ln1_b = kNone;
  size_t qkv_w = kNone, qkv_b = kNone;  // fused [q; k; v]
  size_t o_w = kNone, o_b = kNone;
  size_t ln2_w = kNone, ln2_b = kNone;
  size_t fc_w = kNone, fc_b = kNone;  // fused [gate; up] for SwiGLU
  size_t proj_w = kNone, proj_b = kNone;
};

struct BlockOffsets {
  size_t proj_in_w = LayerOffsets::kNone, proj_in_b = LayerOffsets::kNone;  // width change
  std::vector<LayerOffsets> sets;  // one per parameter set
};

struct ParamLayout {
  std::vector<ParamEntry> entries;
  size_t total = 0;
  size_t wte = LayerOffsets::kNone, wpe = LayerOffsets::kNone;
  std::vector<BlockOffsets> blocks;
  size_t lnf_w = LayerOffsets::kNone, lnf_b = LayerOffsets::kNone;
  size_t lm_proj_w = LayerOffsets::kNone;  // last width -> embedding width (tied, widths differ)
  size_t lm_head = LayerOffsets::kNone;    // == wte when tied; the last tensor either way
  // zero elements the device buffers hold after `total`: the head's rows vocab_size ..
  // padded_vocab() - 1
  size_t head_padding = 0;

  const ParamEntry* find(const std::string& name) const;
};

ParamLayout build_param_layout(const ModelConfig& cfg);

struct ModelCounts {
  size_t params = 0;                // stored parameters
  size_t embedding_params = 0;      // token + position tables
  std::vector<size_t> block_params;  // per block, its width projection included
  size_t executed_matmul_params = 0;  // weights multiplied per token, shared layers counted per use
  double forward_flops_per_token = 0;   // at context_length, matmuls + attention
  double training_flops_per_token = 0;  // 3x forward (backward = 2x forward)
};

// Counts from the config alone; agrees with build_param_layout(cfg).total.
ModelCounts count_model(const ModelConfig& cfg);

}  // namespace merino
