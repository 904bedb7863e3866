#include "train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/loader.h"
#include "kernels/cpu/cpu_backend.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "model/text_format.h"
#include "train/metrics.h"
#include "train/peak_flops.h"
#include "train/stop_signal.h"

namespace merino {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// contiguous parameter ranges that share a weight-decay setting
struct DecayRange {
  size_t offset, numel;
  bool decay;
};

std::vector<DecayRange> decay_ranges(const ParamLayout& layout, bool decay_embeddings) {
  std::vector<DecayRange> out;
  for (const ParamEntry& e : layout.entries) {
    const bool decay = e.role == ParamRole::Matrix || (e.role == ParamRole::Embedding && decay_embeddings);
    if (!out.empty() && out.back().decay == decay && out.back().offset + out.back().numel == e.offset)
      out.back().numel += e.numel;
    else
      out.push_back({e.offset, e.numel, decay});
  }
  return out;
}

std::vector<std::string> shards(const std::string& dir, const std::string& split) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(split + "_", 0) == 0 && entry.path().extension() == ".bin") out.push_back(entry.path().string());
  }
  if (ec) throw DataError(dir + ": cannot read data directory: " + ec.message());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw DataError(dir + ": no " + split + "_*.bin shards (run `merino prepare` first)");
  return out;
}

class Trainer {
 public:
  explicit Trainer(const TrainConfig& cfg)
      : cfg_(cfg),
        model_(cfg.model, be_),
        train_(shards(cfg.data_dir, "train"), loader_options(cfg, cfg.shuffle)),
        val_shards_(shards(cfg.data_dir, "val")),
        ranges_(decay_ranges(model_.layout(), cfg.decay_embeddings)),
        m_(be_.alloc(model_.num_params())),
        v_(be_.alloc(model_.num_params())) {}
  ~Trainer() {
    be_.release(m_);
    be_.release(v_);
  }

  int run(const std::string& resume);

 private:
  static LoaderOptions loader_options(const TrainConfig& cfg, bool shuffle) {
    LoaderOptions o;
    o.batch = cfg.micro_batch;
    o.seq_len = cfg.seq_len;
    o.seed = cfg.seed;
    o.shuffle = shuffle;
    return o;
  }
  void start(const std::string& resume);
  double train_step(int64_t step);
  double validation_loss();
  void checkpoint();

  TrainConfig cfg_;
  CpuBackend<float> be_;
  Model<float> model_;
  DataLoader train_;
  std::vector<std::string> val_shards_;  // listed once, so a missing val split fails at start
  std::vector<DecayRange> ranges_;
  float* m_;
  float* v_;
  std::vector<int32_t> inputs_, targets_;
  CheckpointState state_;
  double grad_norm_ = 0;
  std::string last_checkpoint_ = "(none)";
};

void Trainer::start(const std::string& resume) {
  std::optional<FoundCheckpoint> found;
  if (resume == "auto") {
    found = load_latest_checkpoint(cfg_.run_dir, model_.layout());
  } else if (!resume.empty()) {
    found = FoundCheckpoint{resume, load_checkpoint(resume, model_.layout())};
  } else if (fs::exists(cfg_.run_dir + "/latest")) {
    throw ConfigError(cfg_.run_dir + ": already holds checkpoints; pass --resume auto to continue "
                      "that run, or choose another run.dir");
  }
  if (!found) {
    model_.init_weights(cfg_.seed);
    std::printf("starting a new run in %s\n", cfg_.run_dir.c_str());
    return;
  }
  CheckpointData& d = found->data;
  model_.set_params(d.params);
  be_.upload(m_, d.exp_avg.data(), d.exp_avg.size());
  be_.upload(v_, d.exp_avg_sq.data(), d.exp_avg_sq.size());
  train_.restore(d.state.loader);
  state_ = d.state;
  last_checkpoint_ = found->dir;
  std::printf("resumed from %s at step %lld\n", found->dir.c_str(), static_cast<long long>(state_.step));
}

double Trainer::train_step(int64_t step) {
  const int B = cfg_.micro_batch, T = cfg_.seq_len;
  model_.zero_grads();
  double loss = 0;
  for (int micro = 0; micro < cfg_.grad_accum; ++micro) {
    train_.next(inputs_.data(), targets_.data());
    loss += model_.forward_backward(inputs_.data(), targets_.data(), B, T, 1.0f / float(cfg_.grad_accum));
  }
  loss /= cfg_.grad_accum;
  if (!std::isfinite(loss)) return loss;  // the caller stops before touching the weights
  grad_norm_ = std::sqrt(be_.sum_squares(model_.grads(), model_.num_params()));
  AdamWStep s;
  s.lr = learning_rate(cfg_.schedule, step);
  s.beta1 = cfg_.beta1;
  s.beta2 = cfg_.beta2;
  s.eps = cfg_.eps;
  s.step = step + 1;
  s.grad_scale = cfg_.grad_clip > 0 && grad_norm_ > cfg_.grad_clip ? cfg_.grad_clip / grad_norm_ : 1.0;
  for (const DecayRange& r : ranges_) {
    s.weight_decay = r.decay ? cfg_.weight_decay : 0.0;
    be_.adamw_update(model_.params() + r.offset, model_.grads() + r.offset, m_ + r.offset,
                     v_ + r.offset, r.numel, s);
  }
  return loss;
}

double Trainer::validation_loss() {
  DataLoader val(val_shards_, loader_options(cfg_, false));
  double sum = 0;
  for (int b = 0; b < cfg_.val_batches; ++b) {
    val.next(inputs_.data(), targets_.data());
    sum += model_.forward(inputs_.data(), targets_.data(), cfg_.micro_batch, cfg_.seq_len);
  }
  return sum / cfg_.val_batches;
}

void Trainer::checkpoint() {
  CheckpointData d;
  d.state = state_;
  d.state.loader = train_.state();
  d.params = model_.get_params();
  d.exp_avg.resize(model_.num_params());
  d.exp_avg_sq.resize(model_.num_params());
  be_.download(d.exp_avg.data(), m_, d.exp_avg.size());
  be_.download(d.exp_avg_sq.data(), v_, d.exp_avg_sq.size());
  d.config_yaml = cfg_.resolved_yaml;
  last_checkpoint_ = save_checkpoint(cfg_.run_dir, model_.layout(), d, cfg_.keep_last);
}

int Trainer::run(const std::string& resume) {
  const size_t tokens = size_t(cfg_.micro_batch) * cfg_.seq_len;
  inputs_.resize(tokens);
  targets_.resize(tokens);
  start(resume);
  fs::create_directories(cfg_.run_dir);
  MetricsLog metrics(cfg_.run_dir + "/metrics.jsonl", state_.step);
  install_stop_handlers();

  ModelConfig at_len = cfg_.model;
  at_len.context_length = cfg_.seq_len;
  const double flops_per_token = count_model(at_len).training_flops_per_token;
  const double peak = cpu_peak_flops();
  const bool tty = ::isatty(STDOUT_FILENO);
  const auto run_start = Clock::now();
  const double elapsed_before = state_.elapsed_seconds;

  while (state_.step < cfg_.max_steps) {
    const int64_t step = state_.step;
    const auto t0 = Clock::now();
    const double loss = train_step(step);
    if (!std::isfinite(loss)) {
      std::fprintf(stderr, "merino: error: step %lld: loss is %s; stopped without updating the weights; "
                   "last good checkpoint: %s\n", static_cast<long long>(step + 1),
                   std::isnan(loss) ? "nan" : "inf", last_checkpoint_.c_str());
      return 1;
    }
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    state_.step = step + 1;
    state_.tokens_seen += uint64_t(cfg_.tokens_per_step());
    state_.elapsed_seconds = elapsed_before + std::chrono::duration<double>(Clock::now() - run_start).count();
    const double tok_s = double(cfg_.tokens_per_step()) / dt;
    const double lr = learning_rate(cfg_.schedule, step);
    const bool last = state_.step == cfg_.max_steps;
    if (state_.step % cfg_.log_every == 0 || last || state_.step == 1) {
      metrics.write({{"step", state_.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm_},
                     {"tokens_per_s", tok_s}, {"mfu", tok_s * flops_per_token / peak},
                     {"elapsed_s", state_.elapsed_seconds}});
      const double eta = (cfg_.max_steps - state_.step) * dt;
      std::printf("%sstep %lld/%lld | loss %.4f | lr %.3g | grad norm %.3f | %.0f tok/s | ETA %s%s",
                  tty ? "\r" : "", static_cast<long long>(state_.step),
                  static_cast<long long>(cfg_.max_steps), loss, lr, grad_norm_, tok_s,
                  duration(eta).c_str(), tty ? "   " : "\n");
      std::fflush(stdout);
    }
    if ((cfg_.val_every > 0 && state_.step % cfg_.val_every == 0) || last) {
      const double val = validation_loss();
      metrics.write({{"step", state_.step}, {"val_loss", val}});
      std::printf("%sstep %lld: validation loss %.4f\n", tty ? "\n" : "",
                  static_cast<long long>(state_.step), val);
    }
    const bool periodic = cfg_.checkpoint_every > 0 && state_.step % cfg_.checkpoint_every == 0;
    if (periodic || last || stop_requested()) checkpoint();
    if (stop_requested()) {
      std::printf("%ssignal %d: stopped after step %lld, checkpoint %s\n", tty ? "\n" : "",
                  stop_signal_number(), static_cast<long long>(state_.step), last_checkpoint_.c_str());
      return 0;
    }
  }
  std::printf("%sdone: %lld steps, %llu tokens, checkpoint %s\n", tty ? "\n" : "",
              static_cast<long long>(state_.step), static_cast<unsigned long long>(state_.tokens_seen),
              last_checkpoint_.c_str());
  return 0;
}

}  // namespace

int run_training(const TrainConfig& cfg, const std::string& resume) {
  std::printf("--- resolved config ---\n%s\n-----------------------\n", cfg.resolved_yaml.c_str());
  Trainer trainer(cfg);
  return trainer.run(resume);
}

}  // namespace merino
