// `merino search`: MeRino-style architecture search under parameter, FLOP and latency budgets.
// Writes a trainable model YAML and the search log beside it; see docs/NAS.md. With --score it
// searches nothing and prints the objective and costs of given model YAMLs, one JSON line each.
// Latency comes from a device profile (--device) or, with --measure, from forward-pass
// operations timed on this CPU and kept in a lookup table (--measure-cache FILE).
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/errors.h"
#include "base/progress_line.h"
#include "cli/commands.h"
#include "search/default_budget.h"
#include "search/measured_cost.h"
#include "search/op_timer.h"
#include "search/report.h"
#include "search/units.h"

namespace merino::cli {
namespace {

struct SearchOptions {
  std::string params, flops, latency_ms;  // budgets as typed, e.g. "64M"
  std::string device = "jetson-nano";
  bool measure = false;       // latency timed on this CPU instead of a device profile
  std::string measure_cache;  // latency table to load (if present) and save
  std::string seq_len = "1024";
  std::string blocks = "3";
  bool share = false;             // every block one parameter set run L_i times
  std::string max_layers = "48";  // executed layers of the whole model
  std::string embed_width;        // empty: the search chooses the first block's width
  std::string objective = "subspace";
  std::string rho_max = "0.3";
  std::string projection_weight = "1";
  std::string population = "128";
  std::string iterations = "100000";
  std::string seed = "0";
  std::string out;
  std::vector<std::string> score;  // model YAMLs to score instead of searching
};

// Single-quotes an argument for the recorded command when the shell would split or expand it.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./+=:,") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : c == '\n' ? std::string(" ") : std::string(1, c);
  return q + "'";
}

// Every setting spelled out, so the command reproduces the search even if defaults change.
std::string command_line(const SearchOptions& o) {
  std::string c = "merino search";
  auto add = [&](const char* flag, const std::string& v) {
    if (!v.empty()) c += std::string(" ") + flag + " " + shell_word(v);
  };
  add("--params", o.params);
  add("--flops", o.flops);
  add("--latency-ms", o.latency_ms);
  if (o.measure) {
    c += " --measure";
    add("--measure-cache", o.measure_cache);
  } else {
    add("--device", o.device);
  }
  add("--seq-len", o.seq_len);
  add("--blocks", o.blocks);
  add("--max-layers", o.max_layers);
  add("--embed-width", o.embed_width);
  if (o.share) c += " --share";
  add("--objective", o.objective);
  add("--rho-max", o.rho_max);
  add("--projection-weight", o.projection_weight);
  add("--population", o.population);
  add("--iterations", o.iterations);
  add("--seed", o.seed);
  add("--out", o.out);
  return c;
}

// The output file's stem, restricted to characters that are safe in a YAML string.
std::string model_name(const std::string& out) {
  std::string name = std::filesystem::path(out).stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  return name.empty() ? "merino-search" : name;
}

// The search's figures after the counts: the best model so far.
std::string best_so_far(const search::Evaluation& best) {
  char text[160];
  std::snprintf(text, sizeof text, "best score %.1f, %.2fM params, %.3g FLOPs/token, %.2f ms",
                best.value.score, double(best.costs.params) / 1e6, best.costs.flops,
                best.costs.latency * 1e3);
  return text;
}

// The latency table for --measure: --measure-cache's entries when the file exists, timed with
// this process's OpenMP thread count.
std::unique_ptr<search::MeasuredLatency> open_measured(const SearchOptions& o) {
  using namespace merino::search;
  const int threads = timing_threads();
  LatencyTable table = o.measure_cache.empty() ? LatencyTable{threads, {}}
                                               : load_latency_table(o.measure_cache, threads);
  return std::make_unique<MeasuredLatency>(std::move(table), time_op);
}

// Saves the table to --measure-cache if it grew (timings are the expensive part, so this comes
// before anything else that could fail), and returns one line on it: its size, and what was
// timed now and how long that took.
std::string close_measured(const SearchOptions& o, const search::MeasuredLatency& m) {
  const search::LatencyTable& t = m.table();
  std::string where;
  if (!o.measure_cache.empty() && m.measured() > 0) {
    search::save_latency_table(t, o.measure_cache);
    where = ", saved to " + o.measure_cache;
  } else if (!o.measure_cache.empty()) {
    where = ", all from " + o.measure_cache;
  }
  char line[160];
  std::snprintf(line, sizeof line, "latency table: %zu entries, %d timed now in %.1f s with %d %s",
                t.seconds.size(), m.measured(), m.measuring_seconds(), t.threads,
                t.threads == 1 ? "thread" : "threads");
  return line + where + "\n";
}

// `--score FILE...`: each model's objective value and costs in the space its own shape defines
// (its vocabulary, context and block count), one JSON object per line on stdout.
int run_score(const SearchOptions& o) {
  using namespace merino::search;
  const DeviceProfile& device = find_device(o.device);
  const Objective& objective = find_objective(o.objective);
  ObjectiveParams op;
  op.rho_max = parse_amount("--rho-max", o.rho_max, "0.3");
  op.projection_weight = parse_weight("--projection-weight", o.projection_weight);
  const std::unique_ptr<MeasuredLatency> measured = o.measure ? open_measured(o) : nullptr;
  for (const std::string& file : o.score) {
    const ModelConfig model = load_model_config(file);
    const SearchSpace space = space_for(model);
    Candidate c;
    try {
      c = from_model_config(model, space);
    } catch (const ConfigError& e) {
      throw ConfigError(file + ": " + e.what());
    }
    const Evaluation e = measured ? make_measured_evaluator(space, *measured, objective, op)(c)
                                  : make_evaluator(space, device, objective, op)(c);
    const std::string device_name = measured ? kMeasuredDevice : device.name;
    std::printf("%s\n", score_json(file, objective.name, op, device_name, space, c, e).c_str());
  }
  if (measured)  // stderr: stdout holds only the JSON lines
    std::fputs(close_measured(o, *measured).c_str(), stderr);
  return 0;
}

int run_search(SearchOptions o) {
  using namespace merino::search;
  if (!o.score.empty()) return run_score(o);
  if (o.out.empty())
    throw ConfigError("search: --out is required (or --score FILE to score existing models)");
  SearchSettings s;
  if (o.params.empty() && o.flops.empty() && o.latency_ms.empty())
    throw ConfigError("search: give at least one budget: --params, --flops or --latency-ms");
  if (!o.params.empty()) s.budgets.params = parse_amount("--params", o.params);
  if (!o.flops.empty()) s.budgets.flops = parse_amount("--flops", o.flops);
  if (!o.latency_ms.empty())
    s.budgets.latency = parse_amount("--latency-ms", o.latency_ms, "50 or 12.5") * 1e-3;
  const std::filesystem::path out(o.out);
  if (out.filename().empty() || std::filesystem::is_directory(out))
    throw ConfigError("--out: '" + o.out + "' is a folder; give a file name like configs/m.yaml");
  const DeviceProfile& device = find_device(o.device);
  const Objective& objective = find_objective(o.objective);
  ObjectiveParams op;
  op.rho_max = parse_amount("--rho-max", o.rho_max, "0.3");
  op.projection_weight = parse_weight("--projection-weight", o.projection_weight);
  s.space.seq_len = int(parse_integer("--seq-len", o.seq_len, 1, 1 << 20));
  s.space.n_blocks = int(parse_integer("--blocks", o.blocks, 1, kMaxBlocks));
  s.space.share = o.share;
  s.space.max_total_depth = int(parse_integer("--max-layers", o.max_layers, s.space.n_blocks,
                                              s.space.n_blocks * s.space.max_depth));
  if (!o.embed_width.empty())
    s.space.embed_width = int(parse_integer("--embed-width", o.embed_width, 0, 1 << 20));
  check_space(s.space);
  // No compute budget given: assume the FLOPs of the obvious hand design at this parameter
  // count, say so, and spell it out in the recorded command (search/default_budget.h).
  std::string assumed_flops;
  bool embed_width_assumed = false;
  if (o.flops.empty() && o.latency_ms.empty()) {
    const ReferenceShape ref = reference_shape(s.budgets.params, s.space);
    s.budgets.flops = ref.flops;
    char text[200];
    std::snprintf(text, sizeof text,
                  "a GPT-2-style uniform model at the parameter budget: %d layers x %d, ffn %d, "
                  "%.2fM parameters",
                  ref.layers, ref.width, 4 * ref.width, double(ref.params) / 1e6);
    assumed_flops = text;
    char flops[32];
    std::snprintf(flops, sizeof flops, "%.0f", ref.flops);
    o.flops = flops;
    std::printf("no --flops or --latency-ms: assuming a budget of %.4g forward FLOPs/token (%s)\n",
                ref.flops, text);
    // The same reference sets the embedding width: the entropy does not value the tables, so
    // a free search narrows them to buy depth, which trained worse (docs/NAS.md, "Defaults").
    if (o.embed_width.empty()) {
      s.space.embed_width = ref.width;
      o.embed_width = std::to_string(ref.width);
      check_space(s.space);
      embed_width_assumed = true;
    }
  }
  std::printf("at most %d executed layers (--max-layers), %s\n", s.space.max_total_depth,
              s.space.share ? "each block one shared parameter set (--share)"
                            : "no shared parameters (--share to share each block's layers)");
  if (s.space.embed_width != 0)
    std::printf("embedding and first block width fixed at %d (--embed-width%s)\n",
                s.space.embed_width,
                embed_width_assumed ? ": the assumed budget's width; --embed-width 0 frees it" : "");
  s.population = int(parse_integer("--population", o.population, 2, 1 << 20));
  s.iterations = parse_integer("--iterations", o.iterations, 1, 1LL << 40);
  s.seed = uint64_t(parse_integer("--seed", o.seed, 0, (1LL << 62)));

  const auto t0 = std::chrono::steady_clock::now();
  ProgressLine line("search", "iterations", progress_output(stderr));
  const Progress progress = [&](long long it, const Evaluation& best) {
    if (it < s.iterations)
      line.update(double(it), double(s.iterations), best_so_far(best));
    else
      line.finish(double(it), double(s.iterations), best_so_far(best));
  };
  const std::unique_ptr<MeasuredLatency> measured = o.measure ? open_measured(o) : nullptr;
  SearchReport r;
  r.result = evolve(s,
                    measured ? make_measured_evaluator(s.space, *measured, objective, op)
                             : make_evaluator(s.space, device, objective, op),
                    progress);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string table_line = measured ? close_measured(o, *measured) : "";
  r.command = command_line(o);
  r.name = model_name(o.out);
  r.settings = s;
  r.device = measured ? kMeasuredDevice : device.name;
  r.measure_threads = measured ? measured->table().threads : 0;
  r.objective = objective.name;
  r.objective_params = op;
  r.assumed_flops = assumed_flops;

  write_report(r, o.out);
  const std::string log = log_path_for(o.out);

  const Evaluation& e = r.result.best_eval;
  std::printf("wrote %s and %s (%lld iterations in %.2f s, %lld accepted)\n", o.out.c_str(),
              log.c_str(), s.iterations, r.seconds, r.result.stats.accepted);
  std::printf(
      "score %.2f, entropy %.2f nats, rho %.3f; %zu parameters, %.4g FLOPs/token, %.2f ms on %s\n",
      e.value.score, e.value.entropy, e.value.rho, e.costs.params, e.costs.flops,
      e.costs.latency * 1e3, r.device.c_str());
  std::fputs(table_line.c_str(), stdout);
  if (s.space.embed_width == 0 && r.result.best.blocks[0].width <= s.space.min_width)
    std::printf(
        "note: the first block, whose width is also the embedding and tied head's, is at the "
        "smallest width the search allows (%d): the entropy does not count the embedding "
        "tables, so a parameter budget pushes them to the minimum; --embed-width N fixes the "
        "width (docs/NAS.md)\n",
        s.space.min_width);
  return 0;
}

}  // namespace

Action add_search_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "search",
      "Find a MeRino-style model shape: maximum entropy under parameter, FLOP and latency budgets");
  auto o = std::make_shared<SearchOptions>();
  // Numbers are read as text and checked in run_search, so a bad one is a ConfigError (exit 2).
  auto opt = [&](const char* flag, std::string& into, const char* type, const std::string& help) {
    return cmd->add_option(flag, into, help)->type_name(type);
  };
  // Options that only make sense for a search; --score excludes them.
  std::vector<CLI::Option*> search_only;
  search_only.push_back(opt("--params", o->params, "AMOUNT",
                            "Parameter budget, e.g. 64M (K/M/G/T are powers of 1000)"));
  search_only.push_back(
      opt("--flops", o->flops, "AMOUNT", "Forward FLOPs/token budget at --seq-len, e.g. 1.5G"));
  search_only.push_back(opt("--latency-ms", o->latency_ms, "MS",
                            "Latency budget: a decode step on --device, or with --measure one "
                            "forward pass of --seq-len tokens (batch 1) on this CPU"));
  std::string devices, objectives;
  for (const search::DeviceProfile& d : search::device_profiles()) devices += " " + d.name;
  for (const search::Objective& x : search::objectives()) objectives += " " + std::string(x.name);
  auto* device =
      opt("--device", o->device, "NAME", "Latency profile:" + devices)->capture_default_str();
  auto* measure = cmd->add_flag("--measure", o->measure,
                                "Time forward passes on this CPU (CPU backend, OMP_NUM_THREADS "
                                "threads) instead of a device profile");
  measure->excludes(device);
  opt("--measure-cache", o->measure_cache, "FILE",
      "Latency table (JSON) to reuse if it exists and to save new timings to")
      ->needs(measure);
  search_only.push_back(
      opt("--seq-len", o->seq_len, "N", "Context length of the model")->capture_default_str());
  search_only.push_back(
      opt("--blocks", o->blocks, "N", "Number of blocks of one width each")->capture_default_str());
  search_only.push_back(
      opt("--max-layers", o->max_layers, "N", "Cap on executed layers of the whole model")
          ->capture_default_str());
  search_only.push_back(opt("--embed-width", o->embed_width, "N",
                            "Fix the first block's width, which is also the embedding and tied "
                            "head width (the entropy does not value it; docs/NAS.md); 0 lets the "
                            "search choose. Default: free, or the assumed budget's width when "
                            "neither --flops nor --latency-ms is given"));
  search_only.push_back(cmd->add_flag("--share", o->share,
                                      "Each block is one parameter set run L_i times (MeRino); "
                                      "depth then costs FLOPs but no parameters"));
  opt("--objective", o->objective, "NAME", "Objective:" + objectives)->capture_default_str();
  opt("--rho-max", o->rho_max, "X", "Effectiveness bound rho0 (docs/NAS.md)")
      ->capture_default_str();
  opt("--projection-weight", o->projection_weight, "X",
      "Weight of the width projections in the entropy; 0 leaves them out (docs/NAS.md)")
      ->capture_default_str();
  search_only.push_back(
      opt("--population", o->population, "N", "Population size")->capture_default_str());
  search_only.push_back(
      opt("--iterations", o->iterations, "N", "Evolution iterations")->capture_default_str());
  search_only.push_back(
      opt("--seed", o->seed, "N", "Random seed; the same seed gives the same model")
          ->capture_default_str());
  search_only.push_back(opt("--out", o->out, "FILE",
                            "Model YAML to write (required to search); the log goes to "
                            "FILE.search.jsonl"));
  auto* score = cmd->add_option("--score", o->score,
                                "Search nothing: print the objective and costs of these model "
                                "YAMLs (in the search space), one JSON line each")
                    ->type_name("FILE");
  for (CLI::Option* x : search_only) score->excludes(x);
  return [o] { return run_search(*o); };
}

}  // namespace merino::cli
