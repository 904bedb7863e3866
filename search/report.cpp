#include "search/report.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/atomic_file.h"
#include "base/text_format.h"
#include "model/param_layout.h"
#include "model/yaml_reader.h"

namespace merino::search {
namespace {

std::string format(const char* fmt, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

std::string budget_text(double budget, const char* fmt, double scale = 1) {
  return budget == Budgets::kNone ? "none" : format(fmt, budget * scale);
}

nlohmann::json budget_json(double budget) {
  return budget == Budgets::kNone ? nlohmann::json(nullptr) : nlohmann::json(budget);
}

// What the latency figure is: a device model's decode step or a forward pass timed here.
std::string latency_meaning(const SearchReport& r) {
  if (r.measure_threads == 0) return " per decode step on " + r.device + ", model estimate";
  return " per forward pass of " + std::to_string(r.settings.space.seq_len) +
         " tokens, batch 1, measured on this CPU with " + std::to_string(r.measure_threads) +
         (r.measure_threads == 1 ? " thread" : " threads");
}

nlohmann::json blocks_json(const Candidate& c) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < c.n_blocks; ++i) {
    const BlockGene& b = c.blocks[i];
    list.push_back({{"layers", b.depth},
                    {"d_model", b.width},
                    {"n_heads", b.heads},
                    {"ffn_dim", b.ffn_dim()},
                    {"ffn_ratio", b.ffn_ratio()}});
  }
  return list;
}

nlohmann::json evaluation_json(const Evaluation& e) {
  return {{"score", e.value.score}, {"entropy", e.value.entropy},
          {"rho", e.value.rho},     {"params", e.costs.params},
          {"flops", e.costs.flops}, {"latency_ms", e.costs.latency * 1e3}};
}

}  // namespace

std::string model_yaml(const SearchReport& r) {
  const SearchSettings& s = r.settings;
  const Evaluation& e = r.result.best_eval;
  const ModelCounts counts = count_model(to_model_config(r.result.best, s.space, r.name));
  std::string y;
  y += "# " + r.name + ": found by `merino search` (MeRino entropy objective, docs/NAS.md).\n";
  y += "# command: " + r.command + "\n";
  y += "# objective " + r.objective + ": score " + format("%.2f", e.value.score) + ", entropy " +
       format("%.2f", e.value.entropy) + " nats, rho " +
       format("%.3f (max %.3f)", e.value.rho, r.objective_params.rho_max) + "\n";
  y += "# parameters " + grouped(counts.params) + " (budget " +
       (s.budgets.params == Budgets::kNone ? "none" : grouped(size_t(s.budgets.params))) + ")\n";
  y += "# forward FLOPs/token " + format("%.4g", counts.forward_flops_per_token) + " at context " +
       std::to_string(s.space.seq_len) + " (budget " + budget_text(s.budgets.flops, "%.4g") +
       (r.assumed_flops.empty() ? "" : ", assumed: " + r.assumed_flops) + ")\n";
  y += "# latency " + format("%.3f ms", e.costs.latency * 1e3) + latency_meaning(r) + " (budget " +
       budget_text(s.budgets.latency, "%g ms", 1e3) + ")\n";
  int executed = 0;
  for (int i = 0; i < r.result.best.n_blocks; ++i) executed += r.result.best.blocks[i].depth;
  y += "# executed layers " + std::to_string(executed) + " (cap " +
       std::to_string(s.space.max_total_depth) + "), " +
       (s.space.share ? "each block one shared parameter set" : "no shared parameters") +
       (s.space.embed_width != 0
            ? ", embedding width " + std::to_string(s.space.embed_width) + " fixed (--embed-width)"
            : "") +
       "\n";
  y += "model:\n";
  y += "  name: \"" + r.name + "\"\n";
  y += "  vocab_size: " + std::to_string(s.space.vocab_size) + "\n";
  y += "  context_length: " + std::to_string(s.space.seq_len) + "\n";
  y += "  norm: layernorm\n  activation: gelu\n  position: learned\n  bias: true\n";
  y += "  tie_embeddings: true\n  blocks:\n";
  for (int i = 0; i < r.result.best.n_blocks; ++i) {
    const BlockGene& b = r.result.best.blocks[i];
    y += "    - {layers: " + std::to_string(b.depth) + ", d_model: " + std::to_string(b.width) +
         ", n_heads: " + std::to_string(b.heads) + ", ffn_dim: " + std::to_string(b.ffn_dim()) +
         (s.space.share && b.depth > 1 ? ", share: true" : "") + "}  # ffn ratio " +
         format("%.1f", b.ffn_ratio()) + "\n";
  }
  return y;
}

std::string search_log(const SearchReport& r) {
  const SearchSettings& s = r.settings;
  const SearchResult& res = r.result;
  std::string out;
  nlohmann::json start = {
      {"event", "start"},
      {"command", r.command},
      {"objective", r.objective},
      {"attention_weight", r.objective_params.attention_weight},
      {"ffn_weight", r.objective_params.ffn_weight},
      {"projection_weight", r.objective_params.projection_weight},
      {"rho_max", r.objective_params.rho_max},
      {"depth_penalty", r.objective_params.depth_penalty},
      {"device", r.device},
      {"measure_threads",
       r.measure_threads > 0 ? nlohmann::json(r.measure_threads) : nlohmann::json(nullptr)},
      {"seq_len", s.space.seq_len},
      {"blocks", s.space.n_blocks},
      {"share", s.space.share},
      {"max_layers", s.space.max_total_depth},
      {"population", s.population},
      {"iterations", s.iterations},
      {"seed", s.seed},
      {"budgets",
       {{"params", budget_json(s.budgets.params)},
        {"flops", budget_json(s.budgets.flops)},
        {"latency_ms", budget_json(s.budgets.latency * 1e3)}}},
      {"assumed_flops",
       r.assumed_flops.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.assumed_flops)}};
  if (s.space.embed_width != 0) start["embed_width"] = s.space.embed_width;  // absent: free
  out += start.dump() + "\n";
  for (const Improvement& imp : res.history) {
    nlohmann::json line = evaluation_json(imp.eval);
    line["event"] = "best";
    line["iteration"] = imp.iteration;
    line["blocks"] = blocks_json(imp.candidate);
    out += line.dump() + "\n";
  }
  const Costs& c = res.best_eval.costs;
  auto used = [](double value, double budget) {
    return budget == Budgets::kNone ? nlohmann::json(nullptr) : nlohmann::json(value / budget);
  };
  nlohmann::json done = evaluation_json(res.best_eval);
  done["event"] = "done";
  done["seconds"] = r.seconds;
  done["accepted"] = res.stats.accepted;
  done["out_of_space"] = res.stats.out_of_space;
  done["over_budget"] = res.stats.over_budget;
  done["ineffective"] = res.stats.ineffective;
  done["duplicate"] = res.stats.duplicate;
  done["budget_used"] = {{"params", used(double(c.params), s.budgets.params)},
                         {"flops", used(c.flops, s.budgets.flops)},
                         {"latency_ms", used(c.latency, s.budgets.latency)}};
  done["blocks"] = blocks_json(res.best);
  out += done.dump() + "\n";
  return out;
}

std::string score_json(const std::string& file, const std::string& objective,
                       const ObjectiveParams& objective_params, const std::string& device,
                       const SearchSpace& space, const Candidate& candidate,
                       const Evaluation& eval) {
  nlohmann::json j = {{"file", file},
                      {"objective", objective},
                      {"rho_max", objective_params.rho_max},
                      {"projection_weight", objective_params.projection_weight},
                      {"device", device},
                      {"share", space.share},
                      {"seq_len", space.seq_len}};
  j.update(evaluation_json(eval));
  j["effective"] = eval.value.effective;
  j["blocks"] = blocks_json(candidate);
  return j.dump();
}

std::string log_path_for(const std::string& yaml_path) {
  for (const char* ext : {".yaml", ".yml"}) {
    const size_t n = std::string(ext).size();
    if (yaml_path.size() > n && yaml_path.compare(yaml_path.size() - n, n, ext) == 0)
      return yaml_path.substr(0, yaml_path.size() - n) + ".search.jsonl";
  }
  return yaml_path + ".search.jsonl";
}

void verify_model_yaml(const std::string& yaml, const std::string& file, size_t params) {
  const YamlMap root(YAML::Load(yaml), file, "");
  const ModelConfig cfg = parse_model_config(root.map("model"));
  const size_t counted = count_model(cfg).params, laid_out = build_param_layout(cfg).total;
  if (counted != params || laid_out != params)
    throw std::runtime_error("internal error: " + file + " builds " + std::to_string(laid_out) +
                             " parameters (count_model " + std::to_string(counted) +
                             "), the search counted " + std::to_string(params));
}

void write_report(const SearchReport& r, const std::string& yaml_path) {
  const std::string yaml = model_yaml(r);
  verify_model_yaml(yaml, yaml_path, r.result.best_eval.costs.params);
  const std::filesystem::path parent = std::filesystem::path(yaml_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw std::runtime_error(parent.string() + ": cannot create folder: " + ec.message());
  write_file_atomically(yaml_path, yaml);
  write_file_atomically(log_path_for(yaml_path), search_log(r));
}

}  // namespace merino::search
