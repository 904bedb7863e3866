#include "train/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "base/sha256.h"
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

void fsync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw_environment_error(path, "cannot open directory");
  ::fsync(fd);
  ::close(fd);
}

// A checkpoint part must be a regular file: a directory under its name would fail deep inside
// the stream library with no name, and a FIFO would block the open for ever (hence O_NONBLOCK).
std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw DataError(path + ": cannot open file" + (errno == ENOENT ? "" : std::string(": ") + std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw DataError(path + ": not a regular file");
  }
  std::string bytes(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      ::close(fd);
      throw DataError(path + ": read failed" + (err ? std::string(": ") + std::strerror(err) : ": file shrank"));
    }
    done += size_t(n);
  }
  ::close(fd);
  return bytes;
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

struct StepDir {
  int64_t step;
  std::string name;
};

// RUN/step_<digits> directories, newest step first (by number: the zero padding runs out at
// 10^8 steps)
std::vector<StepDir> step_dirs_newest_first(const std::string& run_dir) {
  std::vector<StepDir> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string digits = name.substr(std::min(name.size(), std::strlen(kStepPrefix)));
    if (name.rfind(kStepPrefix, 0) != 0 || digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) out.push_back({std::stoll(digits), name});
  }
  std::sort(out.begin(), out.end(), [](const StepDir& a, const StepDir& b) { return a.step > b.step; });
  return out;
}

// Names of the scratch entries one writer makes in RUN, each ending in "-<pid>": a checkpoint
// being written, the previous copy of a step being replaced, the next `latest` link.
constexpr const char* kTempPrefix = ".tmp-";
constexpr const char* kAsidePrefix = ".old-";
constexpr const char* kLinkPrefix = ".latest-";

std::string own(const std::string& run_dir, const char* prefix, const std::string& name) {
  return run_dir + "/" + prefix + name + (name.empty() ? "" : "-") + std::to_string(::getpid());
}

void rename_or_throw(const std::string& from, const std::string& to, const char* what) {
  if (std::rename(from.c_str(), to.c_str()) != 0) throw_environment_error(to, what);
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw EnvironmentError(path + ": cannot remove: " + ec.message());
}

// "NAME: tensor 'T' holds K non-finite values" for the first tensor of `values` that does
std::optional<std::string> first_non_finite(const ParamLayout& layout, const std::vector<float>& values,
                                            const std::string& prefix) {
  for (const ParamEntry& e : layout.entries) {
    size_t bad = 0;
    for (size_t i = e.offset; i < e.offset + e.numel && i < values.size(); ++i) bad += !std::isfinite(values[i]);
    if (bad > 0) return "tensor '" + prefix + e.name + "' holds " + std::to_string(bad) + " non-finite values";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> non_finite_values(const ParamLayout& layout, const CheckpointData& data) {
  if (auto bad = first_non_finite(layout, data.params, "")) return bad;
  if (auto bad = first_non_finite(layout, data.exp_avg, "exp_avg.")) return bad;
  return first_non_finite(layout, data.exp_avg_sq, "exp_avg_sq.");
}

bool holds_checkpoints(const std::string& run_dir) {
  std::error_code ec;
  return fs::is_symlink(run_dir + "/latest", ec) || !step_dirs_newest_first(run_dir).empty();
}

void recover_run_dir(const std::string& run_dir) {
  std::error_code ec;
  std::vector<fs::path> scratch;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) scratch.push_back(entry.path());
  for (const fs::path& path : scratch) {
    const std::string name = path.filename().string();
    if (name.rfind(kAsidePrefix, 0) == 0) {
      // killed between moving step_N aside and renaming its replacement in: put it back
      const std::string step = name.substr(std::strlen(kAsidePrefix), name.rfind('-') - std::strlen(kAsidePrefix));
      const std::string target = run_dir + "/" + step;
      std::error_code exists_ec;
      if (!step.empty() && !fs::exists(fs::symlink_status(target, exists_ec))) {
        rename_or_throw(path.string(), target, "cannot restore a checkpoint moved aside by a killed run");
        continue;
      }
      remove_tree(path.string());
    } else if (name.rfind(kTempPrefix, 0) == 0 || name.rfind(kLinkPrefix, 0) == 0) {
      remove_tree(path.string());
    }
  }
}

std::string save_checkpoint(const std::string& run_dir, const ParamLayout& layout,
                            const CheckpointData& data, int keep_last) {
  if (auto bad = non_finite_values(layout, data))
    throw std::logic_error("save_checkpoint: step " + std::to_string(data.state.step) + ": " + *bad);
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw EnvironmentError(run_dir + ": cannot create the run directory: " + ec.message());
  const std::string name = step_name(data.state.step);
  const std::string final_dir = run_dir + "/" + name;
  const std::string tmp = own(run_dir, kTempPrefix, name);
  remove_tree(tmp);
  if (!fs::create_directory(tmp, ec) || ec) throw EnvironmentError(tmp + ": cannot create directory: " + ec.message());

  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"merino.layout", "out_in"}};
  std::vector<TensorView> moments = views(layout, data.exp_avg, "exp_avg.");
  for (TensorView& v : views(layout, data.exp_avg_sq, "exp_avg_sq.")) moments.push_back(std::move(v));
  nlohmann::json state = {{"format", kFormat},
                          {"version", kVersion},
                          {"step", data.state.step},
                          {"tokens_seen", data.state.tokens_seen},
                          {"elapsed_seconds", data.state.elapsed_seconds},
                          {"loader", data.state.loader}};
  // the tensors stream from `data` to the file through the hash: writing takes no copy of them
  const auto write_tensors = [&](const std::string& file, const std::vector<TensorView>& tensors,
                                 const std::map<std::string, std::string>& metadata) {
    AtomicFile out(tmp + "/" + file);
    Sha256 hash;
    size_t bytes = 0;
    const auto put = [&](const void* p, size_t n) {
      out.write(p, n);
      hash.update(p, n);
      bytes += n;
    };
    const std::string header = encode_safetensors_header(tensors, metadata);
    put(header.data(), header.size());
    for (const TensorView& t : tensors) {
      size_t numel = 1;
      for (int64_t d : t.shape) numel *= size_t(d);
      put(t.data, numel * sizeof(float));
    }
    out.commit();
    state["files"][file] = {{"bytes", bytes}, {"sha256", hash.hex_digest()}};
  };
  try {
    write_tensors("model.safetensors", views(layout, data.params, ""), meta);
    write_tensors("optimizer.safetensors", moments, {});
    write_file_atomically(tmp + "/config.yaml", data.config_yaml);
    state["files"]["config.yaml"] = {{"bytes", data.config_yaml.size()}, {"sha256", sha256_hex(data.config_yaml)}};
    write_file_atomically(tmp + "/state.json", state.dump(2) + "\n");
    fsync_dir(tmp);
  } catch (...) {
    std::error_code ignored;  // a full disk: free what this attempt took, keep the first error
    fs::remove_all(tmp, ignored);
    throw;
  }

  // An existing step_N (a resume from an earlier checkpoint, or a corrupt one that was skipped)
  // is replaced, never kept: it is moved aside, the new one renamed in, and only then deleted.
  // A kill in between leaves it under kAsidePrefix, where recover_run_dir puts it back.
  const std::string aside = own(run_dir, kAsidePrefix, name);
  const bool replacing = fs::exists(fs::symlink_status(final_dir, ec));
  if (replacing) {
    remove_tree(aside);
    rename_or_throw(final_dir, aside, "cannot move the previous checkpoint of this step aside");
  }
  rename_or_throw(tmp, final_dir, "cannot rename the new checkpoint into place");
  fsync_dir(run_dir);

  const std::string link_tmp = own(run_dir, kLinkPrefix, "");
  ::unlink(link_tmp.c_str());
  if (::symlink(name.c_str(), link_tmp.c_str()) != 0) throw_environment_error(link_tmp, "cannot create symlink");
  rename_or_throw(link_tmp, run_dir + "/latest", "cannot update symlink");
  fsync_dir(run_dir);
  if (replacing) remove_tree(aside);

  // Pruning, now that the new checkpoint is complete and `latest` names it. Checkpoints of
  // later steps belong to the timeline this run left when it resumed from an earlier one (the
  // same cut metrics.jsonl makes): kept, `--resume auto` would return to them. Of the rest, the
  // newest `keep_last` by step stay, the one just written always among them.
  int kept = 0;
  for (const StepDir& d : step_dirs_newest_first(run_dir)) {
    const bool keep = d.step == data.state.step || (d.step < data.state.step && kept < std::max(keep_last, 1));
    if (d.step <= data.state.step && keep) ++kept;
    if (!keep) remove_tree(run_dir + "/" + d.name);
  }
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
    // nlohmann would read -5 as a huge unsigned and 1.5 as 1: each field's kind is checked
    const auto counter = [&](const char* key) {
      const nlohmann::json& v = state.at(key);
      if (!v.is_number_unsigned() || v.get<uint64_t>() > uint64_t(INT64_MAX))
        throw DataError(state_path + ": `" + key + "` is " + v.dump() + ", not a non-negative integer");
      return v.get<uint64_t>();
    };
    out.state.step = int64_t(counter("step"));
    out.state.tokens_seen = counter("tokens_seen");
    const nlohmann::json& elapsed = state.at("elapsed_seconds");
    if (!elapsed.is_number() || !(elapsed.get<double>() >= 0))
      throw DataError(state_path + ": `elapsed_seconds` is " + elapsed.dump() + ", not a non-negative number");
    out.state.elapsed_seconds = elapsed.get<double>();
    try {
      out.state.loader = state.at("loader").get<LoaderState>();
    } catch (const DataError& e) {
      throw DataError(state_path + ": " + e.what());
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(state_path + ": missing or malformed field: " + e.what());
  }
  const std::string model_path = dir + "/model.safetensors";
  const SafetensorsFile model = parse_safetensors(verified["model.safetensors"], model_path);
  reject_extra_tensors(model_path, model, layout, {""});
  gather(model_path, model, layout, "", out.params);
  // a diverged run's weights are no place to resume from (the trainer never writes them)
  if (auto bad = first_non_finite(layout, out.params, "")) throw DataError(model_path + ": " + *bad);
  if (!with_optimizer) return out;
  const std::string opt_path = dir + "/optimizer.safetensors";
  const SafetensorsFile opt = parse_safetensors(verified["optimizer.safetensors"], opt_path);
  reject_extra_tensors(opt_path, opt, layout, {"exp_avg.", "exp_avg_sq."});
  gather(opt_path, opt, layout, "exp_avg.", out.exp_avg);
  gather(opt_path, opt, layout, "exp_avg_sq.", out.exp_avg_sq);
  if (auto bad = first_non_finite(layout, out.exp_avg, "exp_avg.")) throw DataError(opt_path + ": " + *bad);
  if (auto bad = first_non_finite(layout, out.exp_avg_sq, "exp_avg_sq.")) throw DataError(opt_path + ": " + *bad);
  return out;
}

std::optional<FoundCheckpoint> load_latest_checkpoint(const std::string& run_dir,
                                                      const ParamLayout& layout) {
  for (const StepDir& step : step_dirs_newest_first(run_dir)) {
    const std::string dir = run_dir + "/" + step.name;
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
