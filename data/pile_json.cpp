#include "data/pile_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace merino {
namespace {

// nlohmann's message starts "[json.exception.parse_error.101] parse error at line 1, "; the line
// is always 1 here and the caller names the file's line, so only the rest is kept.
std::string parse_problem(const std::string& what) {
  size_t at = what.find("column");
  if (at == std::string::npos) at = what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2;
  return "malformed JSON (" + what.substr(at) + ")";
}

}  // namespace

PileLine parse_pile_line(const std::string& line, const std::vector<std::string>& pile_sets) {
  PileLine out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range: `1e999999`
    out.problem = parse_problem(e.what());
    return out;
  }
  if (!j.is_object()) {
    out.problem = "a JSON line must be an object with a \"text\" string";
    return out;
  }
  const auto text = j.find("text");
  if (text == j.end() || !text->is_string()) {
    out.problem = "no \"text\" string in the JSON object";
    return out;
  }
  if (!pile_sets.empty()) {
    const auto meta = j.find("meta");
    const nlohmann::json* name = nullptr;
    if (meta != j.end() && meta->is_object()) {
      const auto it = meta->find("pile_set_name");
      if (it != meta->end() && it->is_string()) name = &*it;
    }
    if (!name || std::find(pile_sets.begin(), pile_sets.end(), name->get_ref<const std::string&>()) == pile_sets.end()) {
      out.status = PileLine::Status::Filtered;
      return out;
    }
  }
  out.status = PileLine::Status::Document;
  out.text = std::move(text->get_ref<std::string&>());
  return out;
}

}  // namespace merino
