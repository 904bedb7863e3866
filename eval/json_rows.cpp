#include "eval/json_rows.h"

#include "base/errors.h"
#include "eval/tasks.h"

namespace merino::eval {
namespace {

Row parse(const std::string& path, const std::string& text, const std::string& where) {
  try {
    return Row::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    const std::string what = e.what();
    const size_t at = what.find("] ");
    throw DataError(path + where + ": not JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  }
}

}  // namespace

std::vector<Row> read_json_rows(const std::string& path) {
  const std::string text = read_text_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw DataError(path + ": empty file, expected JSON lines or a JSON array");
  std::vector<Row> rows;
  if (text[first] == '[') {
    Row all = parse(path, text, "");
    for (size_t i = 0; i < all.size(); ++i) {
      if (!all[i].is_object())
        throw DataError(path + ": element " + std::to_string(i + 1) + " of the JSON array is not an object");
      rows.push_back(std::move(all[i]));
    }
    return rows;
  }
  size_t line_no = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Row row = parse(path, line, ": line " + std::to_string(line_no));
    if (!row.is_object())
      throw DataError(path + ": line " + std::to_string(line_no) + ": not a JSON object (expected JSON lines or a JSON array)");
    rows.push_back(std::move(row));
  }
  return rows;
}

Row read_json_file(const std::string& path) { return parse(path, read_text_file(path), ""); }

bool has_field(const Row& row, const char* name) { return row.is_object() && row.contains(name); }

const Row& field(const Row& row, const char* name) {
  if (!has_field(row, name)) throw FieldError(std::string("no field \"") + name + "\"");
  return row.at(name);
}

const std::string& str_field(const Row& row, const char* name) {
  const Row& v = field(row, name);
  if (!v.is_string()) throw FieldError(std::string("field \"") + name + "\" is not a string");
  return v.get_ref<const std::string&>();
}

}  // namespace merino::eval
