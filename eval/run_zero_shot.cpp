#include "eval/run_zero_shot.h"

#include <cstdio>

#include "base/atomic_file.h"
#include "base/errors.h"
#include "data/tokenizer/named_tokenizer.h"
#include "eval/eval_checkpoint.h"
#include "eval/evaluate.h"
#include "eval/progress_line.h"
#include "eval/zero_shot_evaluate.h"
#include "kernels/device_backend.h"

namespace merino::eval {
namespace {

struct TaskPlan {
  std::vector<std::string> run;
  std::vector<std::string> missing;  // from the "merino" set, with no data
};

TaskPlan plan_tasks(const std::vector<std::string>& names, const std::string& data_dir) {
  TaskPlan plan;
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
    for (const std::string& t : merino_task_names()) add(t, zero_shot_data_present(t, data_dir) ? plan.run : plan.missing);
  }
  return plan;
}

nlohmann::ordered_json metric_value(const Aggregate& a, bool stderr_) {
  if (!stderr_) return a.value;
  return a.stderr_ ? nlohmann::ordered_json(*a.stderr_) : nlohmann::ordered_json("N/A");
}

void print_table(const std::vector<ZeroShotResult>& results, const std::vector<ZeroShotTask>& tasks) {
  std::printf("\n| task | version | n | metric | value | | stderr |\n|---|---:|---:|---|---:|---|---:|\n");
  for (size_t t = 0; t < results.size(); ++t)
    for (size_t m = 0; m < results[t].metrics.size(); ++m) {
      const auto& [name, a] = results[t].metrics[m];
      const bool first = m == 0;
      std::printf("| %s | %s | %s | %s | %.4f | ± | %s |\n", first ? results[t].task.c_str() : "",
                  first ? std::to_string(tasks[t].info.version).substr(0, 3).c_str() : "",
                  first ? std::to_string(results[t].n).c_str() : "", name.c_str(), a.value,
                  a.stderr_ ? std::to_string(*a.stderr_).substr(0, 6).c_str() : "N/A");
    }
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
    if (n != "merino" && !is_zero_shot_task(n)) return names.size() > 1;  // a list is never a perplexity task
  return true;
}

nlohmann::json run_zero_shot(const RunZeroShotOptions& o) {
  check_output_directory(o.json_out);
  const std::string& data_dir = o.data_dir;
  const TaskPlan plan = plan_tasks(o.tasks, data_dir);
  if (plan.run.empty())
    throw DataError(zero_shot_task_dir(data_dir, plan.missing.at(0)) +
                    ": no zero-shot data for any of the tasks asked for (looked in every data root, docs/DATA.md; "
                    "run `merino fetch zero-shot`, docs/EVAL.md lists the files)");
  for (const std::string& name : plan.missing) {
    const ZeroShotTaskInfo& info = zero_shot_task_info(name);
    std::fprintf(stderr, "merino: %s skipped: no data in %s (expected one of %s; get %s)\n", name.c_str(),
                 zero_shot_task_dir(data_dir, name).c_str(), info.files.c_str(), info.source.c_str());
  }
  // every task's data read and checked before the model is loaded, so bad input fails fast
  std::vector<ZeroShotTask> tasks;
  for (const std::string& name : plan.run) {
    tasks.push_back(load_zero_shot_task(name, data_dir));
    if (!tasks.back().verified)
      std::fprintf(stderr, "merino: %s: %s could not be checked against a published checksum (none is known for "
                           "this form of the split); its numbers are comparable only if it is lm-eval's split\n",
                   name.c_str(), tasks.back().file.c_str());
  }

  const LoadedCheckpoint ckpt = load_for_eval(o.checkpoint);
  const NamedTokenizer tok = load_named_tokenizer(o.tokenizer, o.data_dir);
  const int L = ckpt.config.context_length;
  const int batch = o.batch > 0 ? o.batch : auto_batch(L);
  const DeviceBackend<float> device = make_device_backend<float>(o.device, 0);
  device.backend->reserve(Model<float>::memory_plan(ckpt.config, batch, L));
  Model<float> model(ckpt.config, *device.backend);
  model.set_params(ckpt.params);

  nlohmann::ordered_json j;
  std::vector<ZeroShotResult> results;
  for (const ZeroShotTask& task : tasks) {
    ZeroShotOptions options{batch, o.limit, o.progress ? make_progress_line(task.info.name, "requests") : nullptr};
    results.push_back(evaluate_zero_shot(model, tok.tokenizer, task, options));
    const ZeroShotResult& r = results.back();
    nlohmann::ordered_json entry = {{"alias", r.task}};
    for (const auto& [name, a] : r.metrics) {
      entry[name + ",none"] = metric_value(a, false);
      entry[name + "_stderr,none"] = metric_value(a, true);
    }
    entry["n"] = r.n;
    j["results"][r.task] = entry;
    std::fprintf(stderr, "eval %s: %zu documents, %llu requests in %llu rows, %.1f s\n", r.task.c_str(), r.n,
                 (unsigned long long)r.requests, (unsigned long long)r.stats.rows, r.seconds);
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const std::string& name = tasks[t].info.name;
    j["versions"][name] = tasks[t].info.version;
    j["n-shot"][name] = 0;
    j["n-samples"][name] = {{"original", tasks[t].docs.size()}, {"effective", results[t].n}};
    nlohmann::ordered_json better;
    for (const auto& [metric, a] : results[t].metrics) better[metric] = metric != "perplexity";
    j["higher_is_better"][name] = better;
    j["data"][name] = {{"file", tasks[t].file},
                       {"split", tasks[t].info.split},
                       {"content_sha256", tasks[t].content_sha256},
                       {"verified", tasks[t].verified}};
  }
  j["missing"] = plan.missing;
  j["config"] = {{"model", ckpt.config.name},
                 {"tokenizer", tok.name},
                 {"checkpoint", o.checkpoint},
                 {"checkpoint_resolved", ckpt.resolved_dir},
                 {"step", ckpt.step},
                 {"context_length", L},
                 {"batch", batch},
                 {"limit", o.limit > 0 ? nlohmann::ordered_json(o.limit) : nlohmann::ordered_json(nullptr)},
                 {"num_fewshot", 0},
                 {"protocol", "lm-evaluation-harness 0.4 (4e7e0d4), shared/data/zero-shot/LM_EVAL_ZERO_SHOT.md"}};

  std::printf("zero-shot eval of %s (step %lld, %s, tokenizer %s, context %d)%s\n", o.checkpoint.c_str(),
              (long long)ckpt.step, ckpt.config.name.c_str(), tok.name.c_str(), L,
              o.limit > 0 ? " -- with --limit: for testing only" : "");
  print_table(results, tasks);
  if (!o.json_out.empty()) {
    write_file_atomically(o.json_out, j.dump(2) + "\n");
    std::printf("wrote %s\n", o.json_out.c_str());
  }
  return nlohmann::json::parse(j.dump());
}

}  // namespace merino::eval
