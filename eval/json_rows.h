// Rows of a task's data file in either form a dataset is shipped or exported in: JSON lines
// (one object per line; blank lines skipped) or one JSON array of objects. The first
// non-whitespace byte tells them apart ('[': array). Keys keep their file order.
// Field access that names the missing or mistyped field, for one-line errors
// ("FILE: row 12: no field \"label\"").
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace merino::eval {

using Row = nlohmann::ordered_json;

// Throws DataError naming the file (and line) when it is not JSON lines / a JSON array of objects.
std::vector<Row> read_json_rows(const std::string& path);

// One JSON value (an object keyed by id, like PubMedQA's files); DataError naming the file.
Row read_json_file(const std::string& path);

// Throw FieldError (caught by the task loader and reported with file and row).
struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
const std::string& str_field(const Row& row, const char* name);
const Row& field(const Row& row, const char* name);
bool has_field(const Row& row, const char* name);

}  // namespace merino::eval
