#include "eval/run_zero_shot.h"

#include "base/errors.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/eval_model.h"
#include "eval/evaluate.h"

namespace merino::eval {
namespace {

struct TaskNames {
  std::vector<std::string> run;
  std::vector<std::string> missing;  // from the "merino" set, with no data
};

TaskNames task_names(const std::vector<std::string>& names, const std::string& data_dir) {
  TaskNames plan;
  auto add = [&](const std::string& name, std::vector<std::string>& to) {
    for (const std::string& seen : plan.run)
      if (seen == name) return;
    for (const std::string& seen : plan.missing)
      if (seen == name) return;
    to.push_back(name);
  };
  for (const std::string& name : names) {
    if (name != "merino") {
      zero_shot_task_info(name);  // ConfigError for an unknown name
      add(name, plan.run);
      continue;
    }
    for (const std::string& t : merino_task_names())
      add(t, zero_shot_data_present(t, data_dir) ? plan.run : plan.missing);
  }
  return plan;
}

nlohmann::ordered_json metric_value(const Aggregate& a, bool stderr_) {
  if (!stderr_) return a.value;
  return a.stderr_ ? nlohmann::ordered_json(*a.stderr_) : nlohmann::ordered_json("N/A");
}

}  // namespace

std::vector<std::string> split_task_spec(const std::string& spec) {
  std::vector<std::string> names;
  for (size_t b = 0; b <= spec.size();) {
    size_t e = spec.find(',', b);
    if (e == std::string::npos) e = spec.size();
    if (e > b) names.push_back(spec.substr(b, e - b));
    b = e + 1;
  }
  return names;
}

bool is_zero_shot_spec(const std::string& spec) {
  const std::vector<std::string> names = split_task_spec(spec);
  if (names.empty()) return false;
  for (const std::string& n : names)
    if (n != "merino" && !is_zero_shot_task(n))
      return names.size() > 1;  // a list is never a perplexity task
  return true;
}

ZeroShotPlan plan_zero_shot(const std::vector<std::string>& names, const std::string& data_dir) {
  const TaskNames named = task_names(names, data_dir);
  if (named.run.empty())
    throw DataError(zero_shot_task_dir(data_dir, named.missing.at(0)) +
                    ": no zero-shot data for any of the tasks asked for (looked in every data "
                    "root, docs/DATA.md; "
                    "run `merino fetch zero-shot`, docs/EVAL.md lists the files)");
  ZeroShotPlan plan;
  plan.missing = named.missing;
  // every task's data read and checked before the model is loaded, so bad input fails fast
  for (const std::string& name : named.run)
    plan.tasks.push_back(load_zero_shot_task(name, data_dir));
  return plan;
}

ZeroShotRun run_zero_shot(const RunZeroShotOptions& o, const ZeroShotPlan& plan) {
  const std::vector<ZeroShotTask>& tasks = plan.tasks;
  const LoadedCheckpoint ckpt = load_for_eval(o.checkpoint);
  const NamedTokenizer tok = load_named_tokenizer(o.tokenizer, o.data_dir);
  const int L = ckpt.config.context_length;
  const int batch = o.batch > 0 ? o.batch : auto_batch(L);
  EvalModel m = load_eval_model(ckpt, o.device, batch, /*kv_cache=*/true);

  ZeroShotRun run;
  nlohmann::ordered_json& j = run.report;
  for (const ZeroShotTask& task : tasks) {
    ZeroShotOptions options{batch, o.limit, o.progress ? o.progress(task.info.name) : nullptr};
    run.results.push_back(evaluate_zero_shot(*m.model, tok.tokenizer, task, options));
    const ZeroShotResult& r = run.results.back();
    nlohmann::ordered_json entry = {{"alias", r.task}};
    for (const auto& [name, a] : r.metrics) {
      entry[name + ",none"] = metric_value(a, false);
      entry[name + "_stderr,none"] = metric_value(a, true);
    }
    entry["n"] = r.n;
    j["results"][r.task] = entry;
    if (o.task_done) o.task_done(r);
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const std::string& name = tasks[t].info.name;
    j["versions"][name] = tasks[t].info.version;
    j["n-shot"][name] = 0;
    j["n-samples"][name] = {{"original", tasks[t].docs.size()}, {"effective", run.results[t].n}};
    nlohmann::ordered_json better;
    for (const auto& [metric, a] : run.results[t].metrics) better[metric] = metric != "perplexity";
    j["higher_is_better"][name] = better;
    j["data"][name] = {{"file", tasks[t].file},
                       {"split", tasks[t].info.split},
                       {"content_sha256", tasks[t].content_sha256},
                       {"verified", tasks[t].verified}};
  }
  j["missing"] = plan.missing;
  j["config"] = {
      {"model", ckpt.config.name},
      {"tokenizer", tok.name},
      {"checkpoint", o.checkpoint},
      {"checkpoint_resolved", ckpt.resolved_dir},
      {"step", ckpt.step},
      {"context_length", L},
      {"batch", batch},
      {"limit", o.limit > 0 ? nlohmann::ordered_json(o.limit) : nlohmann::ordered_json(nullptr)},
      {"num_fewshot", 0},
      {"protocol",
       "lm-evaluation-harness 0.4 (4e7e0d4), shared/data/zero-shot/LM_EVAL_ZERO_SHOT.md"}};
  return run;
}

}  // namespace merino::eval
