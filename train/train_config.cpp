#include "train/train_config.h"

#include <limits>

#include "model/yaml_reader.h"

namespace merino {
namespace {

constexpr long long kMaxSteps = std::numeric_limits<int32_t>::max();

// "a.b.c=value": sets root[a][b][c] to the YAML value, creating mappings on the way
void apply_override(YAML::Node root, const std::string& file, const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(file + ": --set " + text + ": expected key.path=value");
  const std::string path = text.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ": --set " + text + ": value is not valid YAML: " + e.msg);
  }
  std::vector<YAML::Node> chain{root};
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError(file + ": --set " + text + ": empty key in '" + path + "'");
    YAML::Node parent = chain.back();
    if (!parent.IsMap() && parent.IsDefined() && !parent.IsNull())
      throw ConfigError(file + ": --set " + path + ": '" + key + "' is inside a value that is not a mapping");
    if (dot == std::string::npos) {
      parent[key] = value;
      return;
    }
    chain.push_back(parent[key]);
    start = dot + 1;
  }
}

Schedule parse_schedule(const YamlMap& opt, const YamlMap& sch) {
  Schedule s;
  const std::string kind = sch.get_choice("kind", {"linear", "cosine", "constant"});
  s.kind = kind == "linear" ? ScheduleKind::Linear : kind == "cosine" ? ScheduleKind::Cosine
                                                                      : ScheduleKind::Constant;
  s.lr = opt.get_double("lr", 1e-12, 10.0);
  s.warmup_steps = sch.get_int("warmup_steps", 0, kMaxSteps, 0);
  s.min_lr = sch.get_double("min_lr", 0.0, 10.0, 0.0);
  if (s.min_lr > s.lr) sch.fail("min_lr", "must not exceed optimizer.lr");
  return s;
}

}  // namespace

TrainConfig load_train_config(const std::string& file, const std::vector<std::string>& overrides) {
  YamlMap root = load_yaml_file(file);
  for (const std::string& o : overrides) apply_override(root.yaml(), file, o);
  root.require_known_keys({"model", "data", "run", "batch", "optimizer", "schedule", "train", "checkpoint",
                           "distributed"});

  TrainConfig c;
  YAML::Node resolved = YAML::Clone(root.yaml());
  const YAML::Node model = root.node("model");
  if (model.IsScalar()) {
    const YamlMap model_file = load_yaml_file(model.Scalar());
    c.model = parse_model_config(model_file.map("model"));
    resolved["model"] = model_file.yaml()["model"];
  } else {
    c.model = parse_model_config(root.map("model"));
  }

  const YamlMap data = root.map("data");
  data.require_known_keys({"dir", "shuffle"});
  c.data_dir = data.get_string("dir");
  c.shuffle = data.get_bool("shuffle", true);

  const YamlMap run = root.map("run");
  run.require_known_keys({"dir", "seed", "device", "precision", "attention"});
  c.run_dir = run.get_string("dir");
  c.device = run.has("device") ? run.get_choice("device", {"cpu", "cuda"}) : "cpu";
  c.precision = run.has("precision") ? run.get_choice("precision", {"fp32", "bf16"}) : "fp32";
  c.attention = run.has("attention") ? run.get_choice("attention", {"v2", "v1"}) : "v2";
  c.seed = uint64_t(run.get_int("seed", 0, std::numeric_limits<long long>::max(), 1));

  const YamlMap batch = root.map("batch");
  batch.require_known_keys({"micro_batch", "seq_len", "grad_accum"});
  c.micro_batch = int(batch.get_int("micro_batch", 1, 1 << 16));
  c.seq_len = int(batch.get_int("seq_len", 1, c.model.context_length));
  c.grad_accum = int(batch.get_int("grad_accum", 1, 1 << 16, 1));

  const YamlMap opt = root.map("optimizer");
  opt.require_known_keys({"lr", "beta1", "beta2", "eps", "weight_decay", "decay_embeddings", "grad_clip"});
  c.beta1 = opt.get_double("beta1", 0.0, 0.999999, 0.9);
  c.beta2 = opt.get_double("beta2", 0.0, 0.999999999, 0.95);
  c.eps = opt.get_double("eps", 1e-30, 1.0, 1e-8);
  c.weight_decay = opt.get_double("weight_decay", 0.0, 10.0, 0.1);
  c.decay_embeddings = opt.get_bool("decay_embeddings", false);
  c.grad_clip = opt.get_double("grad_clip", 0.0, 1e6, 1.0);

  const YamlMap sch = root.map("schedule");
  sch.require_known_keys({"kind", "warmup_steps", "min_lr"});
  c.schedule = parse_schedule(opt, sch);

  const YamlMap train = root.map("train");
  train.require_known_keys({"max_steps", "val_every", "val_batches", "log_every"});
  c.max_steps = train.get_int("max_steps", 1, kMaxSteps);
  c.val_every = train.get_int("val_every", 0, kMaxSteps, 0);
  c.val_batches = int(train.get_int("val_batches", 1, 1 << 20, 10));
  c.log_every = train.get_int("log_every", 1, kMaxSteps, 10);
  // warmup may outlast a shortened run (--set train.max_steps=20 for a smoke test): the rate
  // then simply never reaches optimizer.lr
  c.schedule.total_steps = c.max_steps;

  const YamlMap ckpt = root.map("checkpoint");
  ckpt.require_known_keys({"every", "keep_last"});
  c.checkpoint_every = ckpt.get_int("every", 0, kMaxSteps, 0);
  c.keep_last = int(ckpt.get_int("keep_last", 1, 1 << 20, 2));

  const YamlMap dist = root.has("distributed") ? root.map("distributed")
                                               : YamlMap(YAML::Node(YAML::NodeType::Map), file, "distributed");
  dist.require_known_keys({"zero1", "overlap", "bucket_mb"});
  c.zero1 = dist.get_bool("zero1", false);
  c.overlap = dist.get_bool("overlap", true);
  c.bucket_mb = dist.get_double("bucket_mb", 0.001, 65536.0, 25.0);

  YAML::Emitter out;
  out << resolved;
  c.resolved_yaml = out.c_str();
  return c;
}

}  // namespace merino
