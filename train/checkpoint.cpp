#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "data/atomic_file.h"
#include "data/sha256.h"
#include "train/safetensors.h"

namespace merino {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "merino-checkpoint";
constexpr int kVersion = 1;
constexpr const char* kStepPrefix = "step_";

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08lld", kStepPrefix, static_cast<long long>(step));
  return buf;
}

[[noreturn]] void io_error(const std::string& path, const char* what) {
  throw DataError(path + ": " + what + ": " + std::strerror(errno));
}

void fsync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) io_error(path, "cannot open directory");
  ::fsync(fd);
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// tensors named `prefix + entry.name`, viewing `values` through the layout
std::vector<TensorView> views(const ParamLayout& layout, const std::vector<float>& values,
                              const std::string& prefix) {
  std::vector<TensorView> out;
  for (const ParamEntry& e : layout.entries)
    out.push_back({prefix + e.name, e.shape, values.data() + e.offset});
  return out;
}

// copies the tensors named `prefix + entry.name` into `values`; every one must exist with the
// model's shape
void gather(const std::string& path, const SafetensorsFile& file, const ParamLayout& layout,
            const std::string& prefix, std::vector<float>& values) {
  values.assign(layout.total, 0.f);
  for (const ParamEntry& e : layout.entries) {
    const auto it = file.tensors.find(prefix + e.name);
    if (it == file.tensors.end())
      throw CheckpointMismatch(path + ": tensor '" + prefix + e.name + "' is missing (model shape differs?)");
    if (it->second.shape != e.shape)
      throw CheckpointMismatch(path + ": tensor '" + prefix + e.name + "' has shape " +
                               shape_string(it->second.shape) + " but the model expects " +
                               shape_string(e.shape));
    std::copy(it->second.data.begin(), it->second.data.end(), values.begin() + std::ptrdiff_t(e.offset));
  }
}

// every tensor in the file must be `prefix + entry.name` for one of `prefixes`
void reject_extra_tensors(const std::string& path, const SafetensorsFile& file,
                          const ParamLayout& layout, std::initializer_list<const char*> prefixes) {
  for (const auto& [name, t] : file.tensors) {
    bool known = false;
    for (const char* p : prefixes)
      known = known || (name.rfind(p, 0) == 0 && layout.find(name.substr(std::strlen(p))));
    if (!known) throw CheckpointMismatch(path + ": tensor '" + name + "' is not part of the model (model shape differs?)");
  }
}

std::vector<std::string> step_dirs_newest_first(const std::string& run_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(kStepPrefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.rbegin(), names.rend());  // zero-padded: name order is step order
  return names;
}

}  // namespace

std::string save_checkpoint(const std::string& run_dir, const ParamLayout& layout,
                            const CheckpointData& data, int keep_last) {
  fs::create_directories(run_dir);
  const std::string name = step_name(data.state.step);
  const std::string final_dir = run_dir + "/" + name;
  if (fs::exists(final_dir)) return final_dir;  // this step is already saved
  const std::string tmp = run_dir + "/.tmp-" + name + "-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directory(tmp);

  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"merino.layout", "out_in"}};
  std::vector<TensorView> moments = views(layout, data.exp_avg, "exp_avg.");
  for (TensorView& v : views(layout, data.exp_avg_sq, "exp_avg_sq.")) moments.push_back(std::move(v));
  const std::pair<std::string, std::string> files[] = {
      {"model.safetensors", encode_safetensors(views(layout, data.params, ""), meta)},
      {"optimizer.safetensors", encode_safetensors(moments, {})},
      {"config.yaml", data.config_yaml},
  };
  nlohmann::json state = {{"format", kFormat},
                          {"version", kVersion},
                          {"step", data.state.step},
                          {"tokens_seen", data.state.tokens_seen},
                          {"elapsed_seconds", data.state.elapsed_seconds},
                          {"loader", data.state.loader}};
  for (const auto& [file, bytes] : files) {
    write_file_atomically(tmp + "/" + file, bytes);
    state["files"][file] = {{"bytes", bytes.size()}, {"sha256", sha256_hex(bytes)}};
  }
  write_file_atomically(tmp + "/state.json", state.dump(2) + "\n");
  fsync_dir(tmp);
  if (std::rename(tmp.c_str(), final_dir.c_str()) != 0) io_error(final_dir, "cannot rename into place");
  fsync_dir(run_dir);

  const std::string link_tmp = run_dir + "/.latest-" + std::to_string(::getpid());
  ::unlink(link_tmp.c_str());
  if (::symlink(name.c_str(), link_tmp.c_str()) != 0) io_error(link_tmp, "cannot create symlink");
  if (std::rename(link_tmp.c_str(), (run_dir + "/latest").c_str()) != 0)
    io_error(run_dir + "/latest", "cannot update symlink");
  fsync_dir(run_dir);

  // older checkpoints go only now that the new one is complete
  const std::vector<std::string> steps = step_dirs_newest_first(run_dir);
  for (size_t i = size_t(std::max(keep_last, 1)); i < steps.size(); ++i)
    fs::remove_all(run_dir + "/" + steps[i]);
  for (const auto& entry : fs::directory_iterator(run_dir))
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(entry.path());
  return final_dir;
}

CheckpointData load_checkpoint(const std::string& dir, const ParamLayout& layout,
                               bool with_optimizer) {
  const std::string state_path = dir + "/state.json";
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_file(state_path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(state_path + ": not valid JSON (truncated?): " + e.what());
  }
  if (!state.is_object() || state.value("format", "") != kFormat)
    throw DataError(state_path + ": not a merino checkpoint state");
  if (state.value("version", 0) != kVersion)
    throw DataError(state_path + ": unsupported checkpoint version " + state.value("version", nlohmann::json()).dump());
  CheckpointData out;
  std::map<std::string, std::string> verified;  // file name -> bytes that matched state.json
  try {
    for (const char* file : {"model.safetensors", "optimizer.safetensors", "config.yaml"}) {
      if (!with_optimizer && std::string(file) == "optimizer.safetensors") continue;
      const std::string path = dir + "/" + file;
      std::string bytes = read_file(path);
      const auto& expect = state.at("files").at(file);
      if (bytes.size() != expect.at("bytes").get<size_t>())
        throw DataError(path + ": size " + std::to_string(bytes.size()) + " differs from the " +
                        std::to_string(expect.at("bytes").get<size_t>()) + " bytes recorded (truncated?)");
      if (sha256_hex(bytes) != expect.at("sha256").get<std::string>())
        throw DataError(path + ": sha256 differs from the one recorded (corrupted)");
      verified[file] = std::move(bytes);
    }
    out.config_yaml = std::move(verified["config.yaml"]);
    out.state.step = state.at("step").get<int64_t>();
    out.state.tokens_seen = state.at("tokens_seen").get<uint64_t>();
    out.state.elapsed_seconds = state.at("elapsed_seconds").get<double>();
    out.state.loader = state.at("loader").get<LoaderState>();
  } catch (const nlohmann::json::exception& e) {
    throw DataError(state_path + ": missing or malformed field: " + e.what());
  }
  const std::string model_path = dir + "/model.safetensors";
  const SafetensorsFile model = parse_safetensors(verified["model.safetensors"], model_path);
  reject_extra_tensors(model_path, model, layout, {""});
  gather(model_path, model, layout, "", out.params);
  if (!with_optimizer) return out;
  const std::string opt_path = dir + "/optimizer.safetensors";
  const SafetensorsFile opt = parse_safetensors(verified["optimizer.safetensors"], opt_path);
  reject_extra_tensors(opt_path, opt, layout, {"exp_avg.", "exp_avg_sq."});
  gather(opt_path, opt, layout, "exp_avg.", out.exp_avg);
  gather(opt_path, opt, layout, "exp_avg_sq.", out.exp_avg_sq);
  return out;
}

std::optional<FoundCheckpoint> load_latest_checkpoint(const std::string& run_dir,
                                                      const ParamLayout& layout) {
  for (const std::string& name : step_dirs_newest_first(run_dir)) {
    const std::string dir = run_dir + "/" + name;
    try {
      return FoundCheckpoint{dir, load_checkpoint(dir, layout)};
    } catch (const CheckpointMismatch&) {
      throw;  // a complete checkpoint of another model: starting over would lose the run
    } catch (const DataError& e) {
      std::fprintf(stderr, "merino: warning: skipping checkpoint %s: %s\n", dir.c_str(), e.what());
    }
  }
  return std::nullopt;
}

}  // namespace merino
