#include "search/op_timer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "model/config.h"
#include "model/sublayers.h"

namespace merino::search {
namespace {

// The search's models are GPT-2 style: ModelConfig's defaults (LayerNorm, GELU, learned
// positions, biases).
const SublayerKinds kKinds = sublayer_kinds(ModelConfig{});

// Short operations get more runs so that a scheduler hiccup is outvoted; long ones, whose runs
// are each steadier, get the fewest that still have a median.
constexpr double kTargetSeconds = 0.02;
constexpr double kMinRuns = 3, kMaxRuns = 15;

template <class Run>
double median_seconds(const Run& run) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [&] {
    const auto t0 = Clock::now();
    run();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  const double warm_up = seconds();
  const int runs =
      int(std::clamp(std::ceil(kTargetSeconds / std::max(warm_up, 1e-9)), kMinRuns, kMaxRuns));
  std::vector<double> times(size_t(runs), 0.0);
  for (double& t : times) t = seconds();
  std::nth_element(times.begin(), times.begin() + runs / 2, times.end());
  return times[size_t(runs / 2)];
}

}  // namespace

OpRun::OpRun(const Op& op, Backend<float>& be) : be_(be) {
  const int T = op.seq_len;
  const size_t N = size_t(T);
  constexpr float w = 0.02f;  // GPT-2 initialisation scale
  switch (op.kind) {
    case OpKind::Vocab: {
      const int E = op.a, V = op.b;
      const int32_t* tokens = ids(N, V);
      const int32_t* targets = ids(N, V);
      const float *wte = values(size_t(V) * E, w), *wpe = values(N * E, w);
      float *x = values(N * E), *logits = values(N * V), *losses = values(N);
      run_ = [=, &be] {
        be.embedding_forward(x, tokens, wte, wpe, 1, T, E, 0);
        be.matmul_forward(logits, x, wte, nullptr, T, E, V);
        be.crossentropy_forward(losses, logits, targets, T, V, V, -1);
      };
      return;
    }
    case OpKind::Projection: {
      const int in = op.a, out = op.b;
      const float *x = values(N * in), *wt = values(size_t(out) * in, w),
                  *b = values(size_t(out), w);
      float* y = values(N * out);
      run_ = [=, &be] { be.matmul_forward(y, x, wt, b, T, in, out); };
      return;
    }
    case OpKind::Attention: {
      const int C = op.a, H = op.b;
      const AttentionDims d{1, T, C, H, H, C / H};
      const AttentionWeights<float> wt{values(size_t(3) * C * C, w), values(3 * size_t(C), w),
                                       values(size_t(C) * C, w), values(C, w)};
      const float* x = values(N * C);
      const NormSite<float> next{values(C), values(C, w), values(N * C), values(N), values(N)};
      const AttentionActs<float> acts{values(N * 3 * C), values(N * C), values(N * H),
                                      values(N * C)};
      // the sub-layer's input norm was fused into the residual add before it (x stands for
      // both the residual and its norm)
      run_ = [=, &be] { forward_attention_sublayer(be, kKinds, d, wt, x, x, acts, next); };
      return;
    }
    case OpKind::Ffn: {
      const int C = op.a, F = op.b;
      const int glu = kKinds.activation == ActivationKind::SwiGLU ? 2 : 1;
      const FfnWeights<float> wt{values(size_t(glu) * F * C, w), values(size_t(glu) * F, w),
                                 values(size_t(C) * F, w), values(C, w)};
      const float* x = values(N * C);
      const NormSite<float> next{values(C), values(C, w), values(N * C), values(N), values(N)};
      const FfnActs<float> acts{values(N * glu * F), values(N * F), values(N * C)};
      run_ = [=, &be] { forward_ffn_sublayer(be, kKinds, T, C, F, wt, x, x, acts, &next); };
      return;
    }
    case OpKind::Final: {
      const int Cf = op.a, E = op.b;
      const float* x = values(N * Cf);
      const NormSite<float> norm{values(Cf), values(Cf, w), values(N * Cf), values(N), values(N)};
      const float* proj_w = Cf != E ? values(size_t(E) * Cf, w) : nullptr;
      float* y = values(N * E);
      // the one norm no residual add precedes (the first layer's) has the final norm's cost
      run_ = [=, &be] {
        norm_forward(be, kKinds, norm, x, T, Cf);
        if (Cf != E) be.matmul_forward(y, norm.out, proj_w, nullptr, T, Cf, E);
      };
      return;
    }
  }
  throw std::logic_error("OpRun: unknown op kind");
}

OpRun::~OpRun() {
  for (void* p : owned_) be_.release(p);
}

float* OpRun::values(size_t n, float scale) {
  std::vector<float> host(n);
  for (float& v : host) v = scale * (float(rng_.next() >> 40) / float(1 << 23) - 1.0f);
  float* p = be_.alloc(n);
  owned_.push_back(p);
  be_.upload(p, host.data(), n);
  return p;
}

int32_t* OpRun::ids(size_t n, int below) {
  std::vector<int32_t> host(n);
  for (int32_t& v : host) v = int32_t(rng_.below(uint64_t(below)));
  int32_t* p = be_.alloc_index(n);
  owned_.push_back(p);
  be_.upload(p, host.data(), n);
  return p;
}

int timing_threads() { return omp_get_max_threads(); }

double time_op(const Op& op) {
  CpuBackend<float> be;
  const OpRun op_run(op, be);
  return median_seconds([&] { op_run.run(); });
}

}  // namespace merino::search
