// `merino info CONFIG.yaml`: what a model config builds, and the memory training it takes,
// before anything is allocated.
#include <cstdio>
#include <string>

#include "base/text_format.h"
#include "cli/commands.h"
#include "model/config.h"
#include "model/param_layout.h"
#include "train/trainer.h"

namespace merino::cli {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int run_info(const std::string& file, bool list_tensors, int micro_batch) {
  const ModelConfig cfg = load_model_config(file);
  const ParamLayout layout = build_param_layout(cfg);
  const ModelCounts counts = count_model(cfg);

  std::printf("model: %s (%s)\n", cfg.name.empty() ? "(unnamed)" : cfg.name.c_str(), file.c_str());
  std::printf("vocab %d, context %d, norm %s, activation %s, position %s%s, bias %s, tied %s\n",
              cfg.vocab_size, cfg.context_length, to_string(cfg.norm), to_string(cfg.activation),
              to_string(cfg.position),
              cfg.position == PositionKind::RoPE ? (" (theta " + std::to_string(int(cfg.rope_theta)) + ")").c_str() : "",
              cfg.bias ? "yes" : "no", cfg.tie_embeddings ? "yes" : "no");
  std::printf("\n%-5s %6s %7s %7s %8s %7s %6s %6s %14s\n", "block", "layers", "d_model", "heads",
              "head_dim", "ffn", "share", "repeat", "params");
  for (size_t i = 0; i < cfg.blocks.size(); ++i) {
    const BlockConfig& b = cfg.blocks[i];
    const std::string heads = std::to_string(b.n_heads) + "/" + std::to_string(b.n_kv_heads);
    std::printf("%-5zu %6d %7d %7s %8d %7d %6s %6d %14s\n", i, b.layers, b.d_model, heads.c_str(),
                b.head_dim(), b.ffn_dim, b.share ? "yes" : "no", b.repeat,
                grouped(counts.block_params[i]).c_str());
  }
  std::printf("\nexecuted layers:          %d\n", cfg.executed_layers());
  std::printf("parameters:               %s\n", grouped(layout.total).c_str());
  std::printf("non-embedding parameters: %s\n", grouped(layout.total - counts.embedding_params).c_str());
  std::printf("forward FLOPs/token:      %.4g (at context %d)\n", counts.forward_flops_per_token,
              cfg.context_length);
  std::printf("training FLOPs/token:     %.4g\n", counts.training_flops_per_token);
  const int T = cfg.context_length;
  std::printf("\ntraining memory per rank, micro-batch %d x %d, AdamW without ZeRO-1 (a GPU adds the "
              "kernels' scratch and cuBLASLt's workspace):\n", micro_batch, T);
  const MemoryPlan fp32 = training_memory_plan<float>(cfg, micro_batch, T, layout.total, false);
  const MemoryPlan mixed = training_memory_plan<bf16>(cfg, micro_batch, T, layout.total, false);
  std::printf("  fp32: %s (%s)\n", mebibytes(fp32.total()).c_str(), fp32.describe().c_str());
  std::printf("  bf16: %s (%s)\n", mebibytes(mixed.total()).c_str(), mixed.describe().c_str());
  if (list_tensors) {
    std::printf("\n%-48s %-16s %12s %12s\n", "tensor", "shape", "offset", "numel");
    for (const ParamEntry& e : layout.entries)
      std::printf("%-48s %-16s %12zu %12zu\n", e.name.c_str(), shape_string(e.shape).c_str(),
                  e.offset, e.numel);
  }
  return 0;
}

}  // namespace

Action add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model's layer table, parameter count and FLOPs/token");
  auto file = std::make_shared<std::string>();
  auto tensors = std::make_shared<bool>(false);
  auto micro_batch = std::make_shared<int>(1);
  cmd->add_option("config", *file, "Model or training config (YAML with a `model` section)")->required();
  cmd->add_flag("--tensors", *tensors, "Also list every parameter tensor with shape and offset");
  cmd->add_option("--micro-batch", *micro_batch, "Sequences per micro-batch for the training memory estimate")
      ->check(CLI::Range(1, 1 << 16));
  return [file, tensors, micro_batch] { return run_info(*file, *tensors, *micro_batch); };
}

}  // namespace merino::cli
