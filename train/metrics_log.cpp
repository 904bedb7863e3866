#include "train/metrics_log.h"

#include <cstring>
#include <fstream>

#include "base/atomic_file.h"
#include "base/errors.h"

namespace merino {

MetricsLog::MetricsLog(const std::string& path, int64_t keep_through) : path_(path) {
  std::string kept;
  if (std::ifstream in{path}) {
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;  // a line cut by a kill -9
      if (keep_through < 0 || j.value("step", int64_t(0)) <= keep_through) kept += line + "\n";
    }
    // atomically, so a crash here never loses the kept history
    write_file_atomically(path, kept);
  }
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) throw DataError(path + ": cannot open for appending: " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace merino
