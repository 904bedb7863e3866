#include "interop/import_dir.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "interop/hf_config.h"
#include "interop/hf_tensors.h"
#include "model/param_layout.h"
#include "model/yaml_reader.h"
#include "train/checkpoint.h"
#include "train/safetensors.h"

namespace merino::interop {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path.string() + ": cannot open file");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw DataError(path.string() + ": not valid JSON");
  return j;
}

// model.safetensors, or every shard model.safetensors.index.json names, merged
SafetensorsFile read_weights(const fs::path& dir, std::string& described_as) {
  const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
  if (present(single)) {
    described_as = single.string();
    return read_safetensors(single.string(), /*widen_half=*/true);
  }
  if (present(index)) {
    described_as = index.string();
    const json j = read_json(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw DataError(index.string() + ": no weight_map object");
    std::set<std::string> shards;
    for (const auto& [name, file] : j["weight_map"].items()) shards.insert(file.get<std::string>());
    SafetensorsFile merged;
    for (const std::string& shard : shards) {
      SafetensorsFile part = read_safetensors((dir / shard).string(), /*widen_half=*/true);
      for (auto& [name, t] : part.tensors)
        if (!merged.tensors.emplace(name, std::move(t)).second)
          throw DataError((dir / shard).string() + ": tensor '" + name + "' is also in another shard");
    }
    return merged;
  }
  for (const char* pickle : {"pytorch_model.bin", "pytorch_model.bin.index.json"})
    if (present(dir / pickle))
      throw DataError((dir / pickle).string() +
                      ": PyTorch pickle weights are not read (unpickling can run code); convert them to "
                      "model.safetensors, e.g. AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(DIR, "
                      "safe_serialization=True)");
  throw DataError(single.string() + ": no such file (nor model.safetensors.index.json)");
}

}  // namespace

ImportedModel read_hf_directory(const std::string& hf_dir) {
  const fs::path dir(hf_dir);
  if (!fs::is_directory(dir)) throw DataError(hf_dir + ": no such directory");
  const fs::path config_path = dir / "config.json";
  const json config = read_json(config_path);
  ImportedModel m;
  const std::string name = fs::weakly_canonical(dir).filename().string();
  m.config_yaml = "# imported by `merino import` from " + hf_dir + " (config.json, docs/INTEROP.md)\n" +
                  model_yaml_from_hf(config, config_path.string(), name);
  m.config = parse_model_config(YamlMap(YAML::Load(m.config_yaml), config_path.string(), "").map("model"));
  std::string weights_path;
  const SafetensorsFile weights = read_weights(dir, weights_path);
  m.params = params_from_hf_tensors(m.config, weights, weights_path);
  if (present(dir / "tokenizer.json")) {
    m.tokenizer_files = {{(dir / "tokenizer.json").string(), "tokenizer.json"}};
  } else if (present(dir / "vocab.json") && present(dir / "merges.txt")) {
    m.tokenizer_files = {{(dir / "vocab.json").string(), "encoder.json"}, {(dir / "merges.txt").string(), "vocab.bpe"}};
  }
  return m;
}

void write_imported_checkpoint(const ImportedModel& model, const std::string& out_dir) {
  const fs::path out = fs::absolute(out_dir).lexically_normal();
  if (present(out)) throw DataError(out_dir + ": already exists (import writes a new checkpoint directory)");
  // save_checkpoint writes RUN/step_N atomically; a private run beside OUT is renamed into place
  const fs::path stage = out.parent_path() / ("." + out.filename().string() + ".import");
  fs::remove_all(stage);
  CheckpointData data;
  data.params = model.params;
  data.exp_avg.assign(model.params.size(), 0.f);
  data.exp_avg_sq.assign(model.params.size(), 0.f);
  data.config_yaml = model.config_yaml;
  const std::string step_dir = save_checkpoint(stage.string(), build_param_layout(model.config), data, 1);
  for (const auto& [src, name] : model.tokenizer_files) {
    std::ifstream in(src, std::ios::binary);
    write_file_atomically(step_dir + "/" + name,
                          std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  }
  fs::rename(step_dir, out);
  fs::remove_all(stage);
}

}  // namespace merino::interop
