// What `merino search` writes: a model YAML that `merino info` loads with the searched
// parameter count, a JSON-lines log beside it, and no partial or wrong file on failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "model/param_layout.h"
#include "search/report.h"

namespace fs = std::filesystem;
namespace ms = merino::search;

namespace {

ms::SearchReport small_search() {
  ms::SearchReport r;
  r.settings.budgets.params = 30e6;
  r.settings.iterations = 3000;
  r.settings.seed = 5;
  r.settings.space.seq_len = 512;
  r.device = "jetson-nano";
  r.objective = "subspace";
  r.command = "merino search --params 30M --seq-len 512 --iterations 3000 --seed 5 --out x.yaml";
  r.name = "x";
  r.result = ms::evolve(r.settings, ms::make_evaluator(r.settings.space, ms::find_device(r.device),
                                                       ms::find_objective(r.objective), {}));
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("merino_search_test_" + std::to_string(::getpid()));
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(search_report, WrittenYamlLoadsWithTheSearchedParameterCount) {
  TempDir dir;
  const ms::SearchReport r = small_search();
  const std::string out = (dir.path / "nested" / "x.yaml").string();
  ms::write_report(r, out);  // creates the missing folders
  const merino::ModelConfig cfg = merino::load_model_config(out);
  EXPECT_EQ(merino::count_model(cfg).params, r.result.best_eval.costs.params);
  EXPECT_EQ(merino::build_param_layout(cfg).total, r.result.best_eval.costs.params);
  EXPECT_LE(double(r.result.best_eval.costs.params), 30e6);
  EXPECT_EQ(cfg.name, "x");
  EXPECT_EQ(cfg.vocab_size, 50257);
  EXPECT_EQ(cfg.context_length, 512);
  EXPECT_TRUE(cfg.tie_embeddings && cfg.bias);
  ASSERT_EQ(int(cfg.blocks.size()), r.result.best.n_blocks);
  for (const merino::BlockConfig& b : cfg.blocks)
    EXPECT_EQ(b.share, r.settings.space.share && b.layers > 1);
  EXPECT_NE(slurp(out).find("# command: " + r.command + "\n"), std::string::npos);
}

TEST(search_report, LogIsJsonLinesFromStartToDone) {
  TempDir dir;
  const ms::SearchReport r = small_search();
  const fs::path out = dir.path / "x.yaml";
  ms::write_report(r, out.string());
  std::ifstream log(dir.path / "x.search.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), r.result.history.size() + 2);
  EXPECT_EQ(lines.front()["event"], "start");
  EXPECT_EQ(lines.front()["command"], r.command);
  EXPECT_EQ(lines.front()["budgets"]["params"], 30e6);
  EXPECT_TRUE(lines.front()["budgets"]["flops"].is_null());
  EXPECT_EQ(lines[1]["event"], "best");
  EXPECT_EQ(lines[1]["iteration"], 0);
  EXPECT_EQ(lines.back()["event"], "done");
  EXPECT_EQ(lines.back()["params"], r.result.best_eval.costs.params);
  EXPECT_LE(lines.back()["budget_used"]["params"].get<double>(), 1.0);
}

TEST(search_report, AFailedWriteLeavesTheOldFileWhole) {
  TempDir dir;
  fs::create_directories(dir.path);
  const fs::path out = dir.path / "x.yaml";
  { std::ofstream(out) << "old contents\n"; }
  ms::SearchReport r = small_search();
  r.result.best_eval.costs.params += 1;  // the YAML no longer builds what the search counted
  EXPECT_THROW(ms::write_report(r, out.string()), std::runtime_error);
  EXPECT_EQ(slurp(out), "old contents\n");
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 1);  // no temporary file or log left behind
}

TEST(search_report, LogPathBesideTheYaml) {
  EXPECT_EQ(ms::log_path_for("configs/m.yaml"), "configs/m.search.jsonl");
  EXPECT_EQ(ms::log_path_for("m.yml"), "m.search.jsonl");
  EXPECT_EQ(ms::log_path_for("out/m"), "out/m.search.jsonl");
}

TEST(search_report, ShippedConfigsBuildWhatTheirSearchRecorded) {
  for (const char* name : {"merino-52m", "merino-61m", "merino-64m"}) {
    const fs::path file = fs::path(MERINO_SOURCE_DIR) / "configs" / (std::string(name) + ".yaml");
    const merino::ModelConfig cfg = merino::load_model_config(file.string());
    // "# parameters 63,521,376 (budget 64,000,000)"
    std::istringstream text(slurp(file));
    size_t recorded = 0, budget = 0;
    for (std::string line; std::getline(text, line);) {
      if (line.rfind("# parameters ", 0) != 0) continue;
      std::string digits;
      for (char c : line) {
        if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
        if (c == '(') {  // the digits so far are the count, the rest the budget
          recorded = std::stoull(digits);
          digits.clear();
        }
      }
      budget = std::stoull(digits);
    }
    EXPECT_EQ(merino::build_param_layout(cfg).total, recorded) << name;
    EXPECT_LE(recorded, budget) << name;
    EXPECT_GT(double(recorded), 0.97 * double(budget)) << name;  // the parameter budget binds
    EXPECT_NE(slurp(file).find("# command: merino search --params "), std::string::npos) << name;
  }
}
