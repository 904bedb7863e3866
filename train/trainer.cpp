#include "train/trainer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/errors.h"
#include "base/progress_line.h"
#include "data/loader.h"
#include "data/shard_names.h"
#include "kernels/device_backend.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/distributed/communicator.h"
#include "train/distributed/grad_sync.h"
#include "train/metrics_log.h"
#include "train/run_dir_lock.h"
#include "train/stop_signal.h"

namespace merino {
namespace fs = std::filesystem;

template <class T>
MemoryPlan training_memory_plan(const ModelConfig& model, int B, int Tn, size_t optimizer_numel,
                                bool zero1) {
  MemoryPlan plan = Model<T>::memory_plan(model, B, Tn);
  // the order the trainer allocates: first moment, second moment, ZeRO-1 gradient shard
  for (int i = 0; i < (zero1 ? 3 : 2); ++i)
    plan.add("optimizer state", optimizer_numel * sizeof(acc_t<T>));
  return plan;
}
template MemoryPlan training_memory_plan<float>(const ModelConfig&, int, int, size_t, bool);
template MemoryPlan training_memory_plan<bf16>(const ModelConfig&, int, int, size_t, bool);

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

template <class T>
DeviceBackend<T> connect_backend(const TrainConfig& cfg, Communicator& comm) {
  DeviceBackend<T> d = make_device_backend<T>(cfg.device, comm.local_rank(), cfg.attention);
  comm.set_compute_stream(d.stream);  // NCCL orders its collectives after the backend's work
  return d;
}

// The parameters of this rank's optimizer state: all of them, or its ZeRO-1 shard.
size_t optimizer_numel(size_t num_params, bool zero1, const Communicator& comm) {
  return zero1 ? shard_counts(num_params, comm.world())[size_t(comm.rank())] : num_params;
}

// A rank's memory, reserved as one block before its first allocation (validation runs the
// micro-batch shape too).
template <class T>
MemoryPlan reserve_memory(Backend<T>& be, const TrainConfig& cfg, bool zero1, const Communicator& comm) {
  MemoryPlan plan = training_memory_plan<T>(
      cfg.model, cfg.micro_batch, cfg.seq_len,
      optimizer_numel(build_param_layout(cfg.model).total, zero1, comm), zero1);
  try {
    be.reserve(plan);
  } catch (const EnvironmentError& e) {  // the backend's refusal names the plan and what it has
    throw EnvironmentError(std::string(e.what()) +
                           "; reduce batch.micro_batch, batch.seq_len or the model");
  }
  return plan;
}

// T: the parameter type, float (fp32) or bf16 (mixed precision). Gradients, master weights and
// the AdamW state are A = float either way, so gradient communication, clipping and checkpoints
// are the same in both precisions.
template <class T>
class Trainer {
 public:
  using A = acc_t<T>;
  Trainer(const TrainConfig& cfg, Communicator& comm)
      : cfg_(cfg),
        comm_(comm),
        lead_(comm.rank() == 0),
        world_(comm.world()),
        zero1_(cfg.zero1 && comm.world() > 1),
        device_(connect_backend<T>(cfg, comm)),
        be_(*device_.backend),
        plan_(reserve_memory(be_, cfg, zero1_, comm)),
        model_(cfg.model, be_),
        train_(cfg.data_dir, loader_options(cfg, kTrainSplit, cfg.shuffle, comm)),
        val_(cfg.data_dir, loader_options(cfg, kValSplit, false, comm)),
        ranges_(decay_ranges(model_.layout(), cfg.decay_embeddings)),
        counts_(zero1_ ? shard_counts(model_.num_params(), world_)
                          : std::vector<size_t>(1, model_.num_params())),
        opt_lo_(zero1_ ? shard_offset(counts_, comm.rank()) : 0),
        opt_n_(optimizer_numel(model_.num_params(), zero1_, comm)),
        norm_lo_(shard_offset(shard_counts(model_.num_params(), world_), comm.rank())),
        norm_n_(shard_counts(model_.num_params(), world_)[size_t(comm.rank())]),
        m_(be_.alloc_acc(opt_n_)),
        v_(be_.alloc_acc(opt_n_)),
        grad_shard_(zero1_ ? be_.alloc_acc(opt_n_) : nullptr) {}
  ~Trainer() {
    be_.release(m_);
    be_.release(v_);
    if (grad_shard_) be_.release(grad_shard_);
  }

  int run(const std::string& resume);

 private:
  static LoaderOptions loader_options(const TrainConfig& cfg, const std::string& split,
                                      bool shuffle, const Communicator& comm) {
    LoaderOptions o;
    o.split = split;
    o.batch = cfg.micro_batch;
    o.seq_len = cfg.seq_len;
    o.seed = cfg.seed;
    o.shuffle = shuffle;
    o.rank = comm.rank();
    o.world = comm.world();
    o.vocab_size = cfg.model.vocab_size;  // a token outside it is found before step 1
    return o;
  }
  void start(const std::string& resume);
  void print_memory() const;
  void print_memory_use() const;
  // one optimizer step; returns the loss averaged over ranks and sets stop_ when any rank was
  // asked to stop
  double train_step(int64_t step);
  const A* reduce_gradients(GradSync& sync);
  // the AdamW scalars of update number `step` (1-based), before clipping and weight decay
  AdamWStep adamw_step(int64_t step) const;
  double validation_loss();
  // false (after printing why) when the step's loss or gradient norm is not finite
  bool step_is_finite(int64_t step, double loss) const;
  // writes a checkpoint; false (after printing why) when the weights or moments are not finite
  bool checkpoint();

  TrainConfig cfg_;
  Communicator& comm_;
  const bool lead_;  // rank 0 prints, logs and writes checkpoints
  const int world_;
  const bool zero1_;  // ZeRO-1 sharding is on (with one rank there is nothing to shard)
  DeviceBackend<T> device_;
  Backend<T>& be_;
  MemoryPlan plan_;  // reserved before model_ and the optimizer state allocate from it
  Model<T> model_;
  DataLoader train_;
  DataLoader val_;  // opened (and its tokens checked) at start, rewound for each validation
  std::vector<DecayRange> ranges_;
  // the parameter range whose AdamW state this rank keeps: all of it, or its ZeRO-1 shard
  std::vector<size_t> counts_;
  size_t opt_lo_, opt_n_;
  // this rank's slice of the squared gradient norm, summed over ranks: the same split as ZeRO-1's
  // shards, so with ZeRO-1 it is exactly the slice this rank holds
  size_t norm_lo_, norm_n_;
  A* m_;
  A* v_;
  A* grad_shard_;  // ZeRO-1: this rank's slice of the summed gradients
  std::vector<int32_t> inputs_, targets_;
  CheckpointState state_;
  double grad_norm_ = 0;
  bool stop_ = false;
  std::string last_checkpoint_ = "(none)";
};

template <class T>
void Trainer<T>::start(const std::string& resume) {
  std::optional<FoundCheckpoint> found;
  if (resume == "auto") {
    // rank 0 picks the checkpoint (skipping corrupt ones); the others load the one it chose
    std::string dir;
    if (lead_) {
      found = load_latest_checkpoint(cfg_.run_dir, model_.layout());
      if (found) dir = found->dir;
    }
    dir = comm_.broadcast(dir);
    if (!lead_ && !dir.empty()) found = FoundCheckpoint{dir, load_checkpoint(dir, model_.layout())};
  } else if (!resume.empty()) {
    found = FoundCheckpoint{resume, load_checkpoint(resume, model_.layout())};
  } else if (holds_checkpoints(cfg_.run_dir)) {
    throw ConfigError(cfg_.run_dir + ": already holds checkpoints; pass --resume auto to continue "
                      "that run, or choose another run.dir");
  }
  if (!found) {
    model_.init_weights(cfg_.seed);
    if (lead_) std::printf("starting a new run in %s\n", cfg_.run_dir.c_str());
    return;
  }
  CheckpointData& d = found->data;
  // the working copy the uninterrupted run had after that step: the same rounding of the same
  // master weights
  model_.set_params(d.params, adamw_step(d.state.step));
  be_.upload(m_, d.exp_avg.data() + opt_lo_, opt_n_);
  be_.upload(v_, d.exp_avg_sq.data() + opt_lo_, opt_n_);
  try {
    train_.restore(d.state.loader);
  } catch (const DataError& e) {
    throw DataError(found->dir + "/state.json: " + e.what() + " (was the data directory changed?)");
  }
  state_ = d.state;
  last_checkpoint_ = found->dir;
  if (lead_) std::printf("resumed from %s at step %lld\n", found->dir.c_str(), static_cast<long long>(state_.step));
}


template <class T>
void Trainer<T>::print_memory() const {
  std::printf("device: %s, precision %s\n", be_.name().c_str(),
              kMixedPrecision<T> ? "bf16 (fp32 master weights, gradients and optimizer state)" : "fp32");
  if (world_ > 1)
    std::printf("data parallel: %d ranks over %s%s; per rank: ", world_, comm_.transport().c_str(),
                zero1_ ? ", ZeRO-1 optimizer sharding" : "");
  const MemoryUse use = be_.memory_use();
  std::printf("memory: %s reserved at start (%s)\n", mebibytes(use.reserved).c_str(), plan_.describe().c_str());
}

// After the first step every buffer and workspace has been taken; later steps take nothing more.
// Memory taken outside the reserved block means the plan missed a buffer: reported, not fatal.
template <class T>
void Trainer<T>::print_memory_use() const {
  const MemoryUse use = be_.memory_use();
  std::printf("memory after the first step: %s of the %s reserved in use", mebibytes(use.peak).c_str(),
              mebibytes(use.reserved).c_str());
  if (use.workspace > 0) std::printf(", %s cuBLASLt workspace", mebibytes(use.workspace).c_str());
  if (use.outside_peak > 0)
    std::printf("; %s allocated outside the reserved block (the memory plan missed it)",
                mebibytes(use.outside_peak).c_str());
  std::printf("\n");
}

template <class T>
AdamWStep Trainer<T>::adamw_step(int64_t step) const {
  AdamWStep s;
  s.lr = step > 0 ? learning_rate(cfg_.schedule, step - 1) : 0.0;
  s.beta1 = cfg_.beta1;
  s.beta2 = cfg_.beta2;
  s.eps = cfg_.eps;
  s.step = step;
  s.round_seed = cfg_.seed;
  return s;
}

// Sums the gradients over ranks; returns the gradients this rank updates from: the whole
// buffer, or its ZeRO-1 slice (then indexed from opt_lo_).
template <class T>
const typename Trainer<T>::A* Trainer<T>::reduce_gradients(GradSync& sync) {
  A* g = model_.grads();
  if (zero1_) {
    comm_.reduce_scatter_sum(g, grad_shard_, counts_);
    return grad_shard_;
  }
  if (world_ > 1) {
    if (cfg_.overlap) sync.finish();
    else comm_.all_reduce_sum(g, model_.num_params());
  }
  return g;
}

template <class T>
double Trainer<T>::train_step(int64_t step) {
  const int B = cfg_.micro_batch, Tn = cfg_.seq_len;
  model_.zero_grads();
  GradSync sync(comm_, model_.grads(), size_t(cfg_.bucket_mb * (1 << 20)));
  // each rank's gradient is pre-scaled, so the sum over ranks is the global mean
  const float scale = 1.0f / float(cfg_.grad_accum * world_);
  double loss = 0;
  for (int micro = 0; micro < cfg_.grad_accum; ++micro) {
    // gradients are communicated only once they are complete, in the last micro-step
    if (micro == cfg_.grad_accum - 1 && world_ > 1 && !zero1_ && cfg_.overlap)
      model_.set_grad_ready_hook([&sync](size_t offset, size_t numel) { sync.ready(offset, numel); });
    train_.next(inputs_.data(), targets_.data());
    loss += model_.forward_backward(inputs_.data(), targets_.data(), B, Tn, scale);
  }
  model_.set_grad_ready_hook(nullptr);
  const A* g = reduce_gradients(sync);  // g[i - opt_lo_] is the gradient of parameter i

  // the loss and the stop request travel in the same reduction as the squared norm
  double agg[3] = {loss / cfg_.grad_accum, stop_requested() ? 1.0 : 0.0,
                   be_.sum_squares(g + (norm_lo_ - opt_lo_), norm_n_)};
  comm_.all_reduce_sum(agg, 3);
  loss = agg[0] / world_;
  stop_ = agg[1] > 0;
  grad_norm_ = std::sqrt(agg[2]);
  // the caller stops before touching the weights: a finite loss can come with an overflowed
  // gradient, and AdamW would carry it into every weight
  if (!std::isfinite(loss) || !std::isfinite(grad_norm_)) return loss;

  AdamWStep s = adamw_step(step + 1);
  s.grad_scale = cfg_.grad_clip > 0 && grad_norm_ > cfg_.grad_clip ? cfg_.grad_clip / grad_norm_ : 1.0;
  for (const DecayRange& r : ranges_) {
    const size_t lo = std::max(r.offset, opt_lo_), hi = std::min(r.offset + r.numel, opt_lo_ + opt_n_);
    if (lo >= hi) continue;
    s.weight_decay = r.decay ? cfg_.weight_decay : 0.0;
    // with ZeRO-1 the working copy is rounded after the all-gather, from the whole master
    T* working = kMixedPrecision<T> && !zero1_ ? model_.params() + lo : nullptr;
    be_.adamw_update(model_.master() + lo, working, g + (lo - opt_lo_), m_ + (lo - opt_lo_),
                     v_ + (lo - opt_lo_), hi - lo, s, lo);
  }
  if (zero1_) {
    comm_.all_gather(model_.master(), counts_);
    model_.narrow_params(s);
  }
  return loss;
}

template <class T>
double Trainer<T>::validation_loss() {
  val_.restore(LoaderState{});
  double sum = 0;
  for (int b = 0; b < cfg_.val_batches; ++b) {
    val_.next(inputs_.data(), targets_.data());
    sum += model_.forward(inputs_.data(), targets_.data(), cfg_.micro_batch, cfg_.seq_len);
  }
  comm_.all_reduce_sum(&sum, 1);
  return sum / (double(cfg_.val_batches) * world_);
}

template <class T>
bool Trainer<T>::step_is_finite(int64_t step, double loss) const {
  if (std::isfinite(loss) && std::isfinite(grad_norm_)) return true;
  const auto kind = [](double x) { return std::isnan(x) ? "nan" : "inf"; };
  if (lead_)
    std::fprintf(stderr, "merino: error: step %lld: %s is %s; stopped without updating the weights; "
                 "last good checkpoint: %s\n", static_cast<long long>(step + 1),
                 std::isfinite(loss) ? "gradient norm" : "loss", std::isfinite(loss) ? kind(grad_norm_) : kind(loss),
                 last_checkpoint_.c_str());
  return false;
}

template <class T>
bool Trainer<T>::checkpoint() {
  // the whole AdamW state is written by rank 0, so a run resumes on any number of ranks
  CheckpointData d;
  if (lead_) {
    d.exp_avg.resize(model_.num_params());
    d.exp_avg_sq.resize(model_.num_params());
  }
  if (zero1_) {
    comm_.gather(m_, lead_ ? d.exp_avg.data() : nullptr, counts_);
    comm_.gather(v_, lead_ ? d.exp_avg_sq.data() : nullptr, counts_);
  } else if (lead_) {
    be_.download(d.exp_avg.data(), m_, d.exp_avg.size());
    be_.download(d.exp_avg_sq.data(), v_, d.exp_avg_sq.size());
  }
  if (!lead_) return true;
  d.state = state_;
  d.state.loader = train_.state();
  d.params = model_.get_params();
  d.config_yaml = cfg_.resolved_yaml;
  // finite gradients can still overflow a weight (a huge learning rate or weight decay)
  if (auto bad = non_finite_values(model_.layout(), d)) {
    std::fprintf(stderr, "merino: error: step %lld: %s; stopped without writing a checkpoint; "
                 "last good checkpoint: %s\n", static_cast<long long>(state_.step), bad->c_str(),
                 last_checkpoint_.c_str());
    return false;
  }
  last_checkpoint_ = save_checkpoint(cfg_.run_dir, model_.layout(), d, cfg_.keep_last);
  return true;
}

template <class T>
int Trainer<T>::run(const std::string& resume) {
  const size_t tokens = size_t(cfg_.micro_batch) * cfg_.seq_len;
  inputs_.resize(tokens);
  targets_.resize(tokens);
  start(resume);
  if (lead_) print_memory();
  std::optional<MetricsLog> metrics;
  if (lead_) {
    fs::create_directories(cfg_.run_dir);
    metrics.emplace(cfg_.run_dir + "/metrics.jsonl", state_.step);
  }
  install_stop_handlers();

  ModelConfig at_len = cfg_.model;
  at_len.context_length = cfg_.seq_len;
  const double flops_per_token = count_model(at_len).training_flops_per_token;
  const double peak = lead_ ? device_.peak_flops(be_) * world_ : 1.0;
  const int64_t step_tokens = cfg_.tokens_per_step() * world_;
  // under mpirun stdout is a pty, but a job log is read as a file: plain lines
  std::optional<ProgressLine> line;
  if (lead_) {
    line.emplace("train", "steps", progress_output(stdout, world_ == 1 && ::isatty(STDOUT_FILENO)));
    line->resumed_from(double(state_.step));
  }
  const auto run_start = Clock::now();
  const double elapsed_before = state_.elapsed_seconds;

  while (state_.step < cfg_.max_steps) {
    const int64_t step = state_.step;
    const auto t0 = Clock::now();
    const double loss = train_step(step);
    if (!step_is_finite(step, loss)) return 1;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    state_.step = step + 1;
    state_.tokens_seen += uint64_t(step_tokens);
    state_.elapsed_seconds = elapsed_before + std::chrono::duration<double>(Clock::now() - run_start).count();
    const double tok_s = double(step_tokens) / dt;
    const double lr = learning_rate(cfg_.schedule, step);
    const bool last = state_.step == cfg_.max_steps;
    if (lead_ && state_.step == 1) print_memory_use();
    if (lead_ && (state_.step % cfg_.log_every == 0 || last || state_.step == 1))
      metrics->write({{"step", state_.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm_},
                      {"tokens_per_s", tok_s}, {"mfu", tok_s * flops_per_token / peak},
                      {"elapsed_s", state_.elapsed_seconds}});
    if (lead_) {
      char figures[128];
      std::snprintf(figures, sizeof figures, "loss %.4f, lr %.3g, grad norm %.3f, %.0f tok/s", loss,
                    lr, grad_norm_, tok_s);
      if (last)
        line->finish(double(state_.step), double(cfg_.max_steps), figures);
      else
        line->update(double(state_.step), double(cfg_.max_steps), figures);
    }
    // the checkpoint comes before the validation, so a failing validation cannot lose the step
    const bool periodic = cfg_.checkpoint_every > 0 && state_.step % cfg_.checkpoint_every == 0;
    if (periodic || last || stop_) {
      const bool written = checkpoint();  // rank 0's verdict ends every rank alike
      if (comm_.broadcast(written ? "1" : "0") != "1") return 1;
    }
    if ((cfg_.val_every > 0 && state_.step % cfg_.val_every == 0) || last) {
      const double val = validation_loss();
      if (lead_) {
        metrics->write({{"step", state_.step}, {"val_loss", val}});
        line->break_line();
        std::printf("step %lld: validation loss %.4f\n", static_cast<long long>(state_.step), val);
      }
    }
    if (stop_) {
      if (lead_) {
        const std::string why = stop_signal_number() ? "signal " + std::to_string(stop_signal_number())
                                                     : std::string("another rank was signalled");
        line->break_line();
        std::printf("%s: stopped after step %lld, checkpoint %s\n", why.c_str(),
                    static_cast<long long>(state_.step), last_checkpoint_.c_str());
      }
      return 0;
    }
  }
  if (lead_)
    std::printf("done: %lld steps, %llu tokens, checkpoint %s\n",
                static_cast<long long>(state_.step),
                static_cast<unsigned long long>(state_.tokens_seen), last_checkpoint_.c_str());
  return 0;
}

// An allocation beyond the reserved plan failed (host buffers, library workspaces, a
// checkpoint's copies): the message gives the plan and the limit it ran into.
template <class T>
std::string beyond_plan_message(const TrainConfig& cfg, const Communicator& comm) {
  const bool zero1 = cfg.zero1 && comm.world() > 1;
  const MemoryPlan plan = training_memory_plan<T>(
      cfg.model, cfg.micro_batch, cfg.seq_len,
      optimizer_numel(build_param_layout(cfg.model).total, zero1, comm), zero1);
  std::string limit = "memory is exhausted";
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
    limit = "the address-space limit (ulimit -v) is " + mebibytes(size_t(as.rlim_cur));
  return "cannot allocate memory beyond the " + mebibytes(plan.total()) + " planned for training (plan: " +
         plan.describe() + "); " + limit;
}

template <class T>
int train_in(const TrainConfig& cfg, const std::string& resume, Communicator& comm) {
  try {
    Trainer<T> trainer(cfg, comm);
    try {
      return trainer.run(resume);
    } catch (...) {
      // while the trainer still holds its buffers: a bucket all-reduce this rank queued before the
      // error would otherwise keep the device busy, and the unwinding waiting on it, for ever
      comm.stop_collectives();
      throw;
    }
  } catch (const std::bad_alloc&) {
    throw EnvironmentError(beyond_plan_message<T>(cfg, comm));
  }
}

}  // namespace

int run_training(const TrainConfig& cfg, const std::string& resume, Communicator& comm) {
  // rank 0 reads and writes run.dir: it holds the lock, taken before anything is read there
  std::optional<RunDirLock> lock;
  if (comm.rank() == 0) {
    lock.emplace(cfg.run_dir);
    recover_run_dir(cfg.run_dir);
  }
  if (comm.rank() == 0)
    std::printf("--- resolved config ---\n%s\n-----------------------\n", cfg.resolved_yaml.c_str());
  if (cfg.precision == "bf16") return train_in<bf16>(cfg, resume, comm);
  return train_in<float>(cfg, resume, comm);
}

}  // namespace merino
