#include "interop/export_dir.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "interop/hf_tensors.h"
#include "model/param_layout.h"
#include "train/safetensors.h"

namespace merino::interop {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_tokenizer(const TokenizerExport* t, const std::string& out_dir) {
  if (!t) return;
  bool has_config = false;
  for (const auto& [src, name] : t->copies) {
    write_file_atomically(out_dir + "/" + name, read_bytes(src));
    has_config = has_config || name == "tokenizer_config.json";
  }
  if (!has_config && !t->tokenizer_config.is_null())
    write_file_atomically(out_dir + "/tokenizer_config.json", t->tokenizer_config.dump(2) + "\n");
}

// an existing directory may hold someone's files: refuse it rather than mix or overwrite
void create_fresh(const std::string& out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !(fs::is_directory(out_dir, ec) && fs::is_empty(out_dir, ec)))
    throw DataError(out_dir + ": already exists and is not an empty directory (export writes a new one)");
  fs::create_directories(out_dir);
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

void write_hf_directory(const ModelConfig& cfg, const std::vector<float>& params,
                        const TokenizerExport* tokenizer, const std::string& out_dir) {
  const SpecialTokens tokens = tokenizer ? tokenizer->tokens : SpecialTokens{};
  const json config = hf_config_json(cfg, tokens);  // refuses before anything is written
  const std::vector<HfTensor> tensors = hf_tensors_from_params(cfg, params);
  std::vector<TensorView> views;
  for (const HfTensor& t : tensors) views.push_back({t.name, t.shape, t.data.data()});
  create_fresh(out_dir);
  write_file_atomically(out_dir + "/model.safetensors", encode_safetensors(views, {{"format", "pt"}}));
  write_file_atomically(out_dir + "/config.json", config.dump(2) + "\n");
  json generation = json::object();
  if (tokens.bos >= 0) generation["bos_token_id"] = tokens.bos;
  if (tokens.eos >= 0) generation["eos_token_id"] = tokens.eos;
  write_file_atomically(out_dir + "/generation_config.json", generation.dump(2) + "\n");
  write_tokenizer(tokenizer, out_dir);
}

void write_merino_directory(const ModelConfig& cfg, const std::string& config_yaml,
                            const std::string& model_safetensors_bytes,
                            const TokenizerExport* tokenizer, const std::string& out_dir) {
  create_fresh(out_dir);
  write_file_atomically(out_dir + "/model.safetensors", model_safetensors_bytes);
  write_file_atomically(out_dir + "/config.yaml", config_yaml);
  std::string doc =
      "# merino model: " + cfg.name +
      "\n\nA model saved by `merino export --format merino` (docs/INTEROP.md).\n\n"
      "- `config.yaml`: the run's config; its `model:` section is the architecture (docs/MODEL.md).\n"
      "- `model.safetensors`: F32 tensors named as `merino info --tensors` lists them; matrices are\n"
      "  `[out, in]` (torch.nn.Linear). Blocks of different widths enter through\n"
      "  `blocks.{i}.proj_in` ([d_i, d_{i-1}]); a tied head on a last width other than the first\n"
      "  goes through `lm_proj` ([d_first, d_last]). `{i}` in layer names counts parameter sets;\n"
      "  `repeat: r` runs each set r times in a row, `share: true` runs one set for every layer.\n";
  if (tokenizer) doc += "- tokenizer files: `" + tokenizer->spec + "`, under Hugging Face file names.\n";
  doc += "\n| tensor | shape |\n|---|---|\n";
  for (const ParamEntry& e : build_param_layout(cfg).entries) doc += "| " + e.name + " | " + shape_string(e.shape) + " |\n";
  write_file_atomically(out_dir + "/FORMAT.md", doc);
  write_tokenizer(tokenizer, out_dir);
}

}  // namespace merino::interop
