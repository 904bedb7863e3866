#include "model/yaml_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace merino {
namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line >= 0) return file + ":" + std::to_string(m.line + 1);
  return file;
}

std::string join_choices(std::initializer_list<const char*> choices) {
  std::string s;
  for (const char* c : choices) s += (s.empty() ? "" : ", ") + std::string(c);
  return s;
}

}  // namespace

YamlMap::YamlMap(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

std::string YamlMap::key_path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

void YamlMap::fail(const char* key, const std::string& message) const {
  YAML::Node at = has(key) ? node_[key] : node_;
  fail_at(at, key_path(key), message);
}

void YamlMap::fail_at(const YAML::Node& at, const std::string& kp,
                      const std::string& message) const {
  throw ConfigError(where(file_, at) + ": " + kp + ": " + message);
}

bool YamlMap::has(const char* key) const { return node_[key].IsDefined() && !node_[key].IsNull(); }

void YamlMap::require_known_keys(std::initializer_list<const char*> known) const {
  for (const auto& kv : node_) {
    const std::string k = kv.first.as<std::string>();
    bool ok = false;
    for (const char* name : known) ok = ok || k == name;
    if (!ok) fail_at(kv.first, path_.empty() ? k : path_ + "." + k,
                     "unknown key (expected one of: " + join_choices(known) + ")");
  }
}

YAML::Node YamlMap::node(const char* key) const {
  if (!has(key)) fail_at(node_, key_path(key), "missing required key");
  return node_[key];
}

YamlMap YamlMap::map(const char* key) const {
  YAML::Node n = node(key);
  if (!n.IsMap()) fail(key, "must be a mapping");
  return YamlMap(n, file_, key_path(key));
}

YAML::Node YamlMap::scalar(const char* key) const {
  YAML::Node n = node(key);
  if (!n.IsScalar()) fail(key, "must be a single value, not a list or mapping");
  return n;
}

long long YamlMap::get_int(const char* key, long long min, long long max) const {
  const std::string text = scalar(key).Scalar();
  std::istringstream in(text);
  long long v = 0;
  if (!(in >> v) || !in.eof()) fail(key, "'" + text + "' is not an integer");
  if (v < min || v > max)
    fail(key, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
  return v;
}

long long YamlMap::get_int(const char* key, long long min, long long max,
                           long long fallback) const {
  return has(key) ? get_int(key, min, max) : fallback;
}

double YamlMap::get_double(const char* key, double min, double max) const {
  const std::string text = scalar(key).Scalar();
  std::istringstream in(text);
  double v = 0;
  if (!(in >> v) || !in.eof() || !std::isfinite(v)) fail(key, "'" + text + "' is not a finite number");
  if (v < min || v > max) {
    std::ostringstream msg;
    msg << v << " is out of range [" << min << ", " << max << "]";
    fail(key, msg.str());
  }
  return v;
}

double YamlMap::get_double(const char* key, double min, double max, double fallback) const {
  return has(key) ? get_double(key, min, max) : fallback;
}

bool YamlMap::get_bool(const char* key) const {
  const std::string text = scalar(key).Scalar();
  if (text == "true") return true;
  if (text == "false") return false;
  fail(key, "'" + text + "' is not a boolean (true or false)");
}

bool YamlMap::get_bool(const char* key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

std::string YamlMap::get_string(const char* key) const { return scalar(key).Scalar(); }

std::string YamlMap::get_string(const char* key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::string YamlMap::get_choice(const char* key, std::initializer_list<const char*> choices) const {
  const std::string v = get_string(key);
  for (const char* c : choices)
    if (v == c) return v;
  fail(key, "'" + v + "' is not one of: " + join_choices(choices));
}

namespace {

// yaml-cpp keeps every entry of a mapping and lookups return the first: a repeated key would
// silently lose its second value (which no range check then sees), so it is an error.
void reject_duplicate_keys(const YAML::Node& node, const std::string& file, const std::string& path) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      reject_duplicate_keys(node[i], file, path + "[" + std::to_string(i) + "]");
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const std::string key_path = path.empty() ? key : path + "." + key;
    const auto [it, fresh] = seen.emplace(key, kv.first.Mark());
    if (!fresh)
      throw ConfigError(file + ":" + std::to_string(kv.first.Mark().line + 1) + ": " + key_path +
                        ": duplicate key (first given on line " + std::to_string(it->second.line + 1) + ")");
    reject_duplicate_keys(kv.second, file, key_path);
  }
}

}  // namespace

YamlMap load_yaml_file(const std::string& file) {
  // a regular file only: a directory fails inside the stream with no name, a FIFO blocks
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ConfigError(file + ": cannot open file: " + std::strerror(errno));
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) throw ConfigError(file + ": not a regular file");
  std::ifstream in(file);
  if (!in) throw ConfigError(file + ": cannot open file");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) throw ConfigError(file + ": top level must be a mapping of sections");
  reject_duplicate_keys(root, file, "");
  return YamlMap(root, file, "");
}

}  // namespace merino
