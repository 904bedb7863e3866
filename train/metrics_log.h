// metrics.jsonl: one JSON object per logged step ({"step", "loss", "lr", "grad_norm",
// "tokens_per_s", "mfu", "elapsed_s"}) or validation ({"step", "val_loss"}). On resume the file
// is cut back to the checkpoint's step, so each step appears once with the values of the run
// that produced the final weights.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace merino {

class MetricsLog {
 public:
  // keeps only records with step <= keep_through (all when negative), then appends
  MetricsLog(const std::string& path, int64_t keep_through);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace merino
