// Strict reading of YAML mappings: every key must be known, required keys must be present,
// every value must have the right type and range. Errors are one line naming the file, the
// line, the full key path and the rule, so a user can fix a config without guessing.
#pragma once
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>

#include "base/errors.h"

namespace merino {

// A view of one YAML mapping with its source file and dotted key path ("model.blocks[1]").
class YamlMap {
 public:
  YamlMap(YAML::Node node, std::string file, std::string path);

  // throws for any key not in `known`
  void require_known_keys(std::initializer_list<const char*> known) const;
  bool has(const char* key) const;

  long long get_int(const char* key, long long min, long long max) const;
  long long get_int(const char* key, long long min, long long max, long long fallback) const;
  double get_double(const char* key, double min, double max) const;
  double get_double(const char* key, double min, double max, double fallback) const;
  bool get_bool(const char* key) const;
  bool get_bool(const char* key, bool fallback) const;
  std::string get_string(const char* key) const;
  std::string get_string(const char* key, const std::string& fallback) const;
  // value must be one of `choices`
  std::string get_choice(const char* key, std::initializer_list<const char*> choices) const;
  YAML::Node node(const char* key) const;  // required
  YamlMap map(const char* key) const;      // required, must be a mapping

  std::string key_path(const char* key) const;
  // "file:line: path.key: message"
  [[noreturn]] void fail(const char* key, const std::string& message) const;
  [[noreturn]] void fail_at(const YAML::Node& where, const std::string& key_path,
                            const std::string& message) const;
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  const YAML::Node& yaml() const { return node_; }

 private:
  YAML::Node scalar(const char* key) const;
  YAML::Node node_;
  std::string file_;
  std::string path_;
};

// Parses a whole file; syntax errors and a non-mapping document become ConfigError.
YamlMap load_yaml_file(const std::string& file);

}  // namespace merino
