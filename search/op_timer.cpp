#include "search/op_timer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "data/splitmix.h"
#include "kernels/cpu/cpu_backend.h"

namespace merino::search {
namespace {

constexpr float kEps = 1e-5f;  // LayerNorm epsilon of the search's GPT-2 style models

// Backend buffers for one operation, released together. Values are random rather than the
// backend's zeros so that GELU, softmax and the loss see inputs like a real model's.
class Buffers {
 public:
  explicit Buffers(CpuBackend<float>& be) : be_(be) {}
  ~Buffers() {
    for (void* p : owned_) be_.release(p);
  }
  Buffers(const Buffers&) = delete;
  Buffers& operator=(const Buffers&) = delete;

  float* values(size_t n, float scale = 1.0f) {
    std::vector<float> host(n);
    for (float& v : host) v = scale * (float(rng_.next() >> 40) / float(1 << 23) - 1.0f);
    float* p = be_.alloc(n);
    owned_.push_back(p);
    be_.upload(p, host.data(), n);
    return p;
  }
  int32_t* ids(size_t n, int below) {
    std::vector<int32_t> host(n);
    for (int32_t& v : host) v = int32_t(rng_.below(uint64_t(below)));
    int32_t* p = be_.alloc_index(n);
    owned_.push_back(p);
    be_.upload(p, host.data(), n);
    return p;
  }

 private:
  CpuBackend<float>& be_;
  std::vector<void*> owned_;
  SplitMix64 rng_{1};
};

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

int timing_threads() { return omp_get_max_threads(); }

double time_op(const Op& op) {
  CpuBackend<float> be;
  Buffers buf(be);
  const int T = op.seq_len;
  const size_t N = size_t(T);
  constexpr float w = 0.02f;  // GPT-2 initialisation scale
  switch (op.kind) {
    case OpKind::Vocab: {
      const int E = op.a, V = op.b;
      const int32_t* tokens = buf.ids(N, V);
      const int32_t* targets = buf.ids(N, V);
      const float *wte = buf.values(size_t(V) * E, w), *wpe = buf.values(N * E, w);
      float *x = buf.values(N * E), *logits = buf.values(N * V), *losses = buf.values(N);
      return median_seconds([&] {
        be.embedding_forward(x, tokens, wte, wpe, 1, T, E, 0);
        be.matmul_forward(logits, x, wte, nullptr, T, E, V);
        be.crossentropy_forward(losses, logits, targets, T, V, V, -1);
      });
    }
    case OpKind::Projection: {
      const int in = op.a, out = op.b;
      const float *x = buf.values(N * in), *wt = buf.values(size_t(out) * in, w),
                  *b = buf.values(size_t(out), w);
      float* y = buf.values(N * out);
      return median_seconds([&] { be.matmul_forward(y, x, wt, b, T, in, out); });
    }
    case OpKind::Attention: {
      const int C = op.a, H = op.b;
      const float *x = buf.values(N * C), *ln_w = buf.values(C), *ln_b = buf.values(C, w);
      const float *qkv_w = buf.values(size_t(3) * C * C, w), *qkv_b = buf.values(3 * size_t(C), w);
      const float *o_w = buf.values(size_t(C) * C, w), *o_b = buf.values(C, w);
      float *ln = buf.values(N * C), *mean = buf.values(N), *rstd = buf.values(N);
      float *qkv = buf.values(N * 3 * C), *att = buf.values(N * C), *lse = buf.values(N * H);
      float* y = buf.values(N * C);
      // as Model::forward runs a sublayer: its input norm was fused into the residual add
      // before it, and its own residual add is fused with the norm after it
      return median_seconds([&] {
        be.matmul_forward(qkv, x, qkv_w, qkv_b, T, C, 3 * C);
        be.attention_forward(att, lse, qkv, 1, T, H, H, C / H);
        be.matmul_forward(y, att, o_w, o_b, T, C, C);
        be.residual_layernorm_forward(y, ln, mean, rstd, y, x, ln_w, ln_b, T, C, kEps);
      });
    }
    case OpKind::Ffn: {
      const int C = op.a, F = op.b;
      const float *x = buf.values(N * C), *ln_w = buf.values(C), *ln_b = buf.values(C, w);
      const float *fc_w = buf.values(size_t(F) * C, w), *fc_b = buf.values(F, w);
      const float *proj_w = buf.values(size_t(C) * F, w), *proj_b = buf.values(C, w);
      float *ln = buf.values(N * C), *mean = buf.values(N), *rstd = buf.values(N);
      float *h = buf.values(N * F), *a = buf.values(N * F), *y = buf.values(N * C);
      return median_seconds([&] {
        be.matmul_gelu_forward(a, h, x, fc_w, fc_b, T, C, F);
        be.matmul_forward(y, a, proj_w, proj_b, T, F, C);
        be.residual_layernorm_forward(y, ln, mean, rstd, y, x, ln_w, ln_b, T, C, kEps);
      });
    }
    case OpKind::Final: {
      const int Cf = op.a, E = op.b;
      const float *x = buf.values(N * Cf), *ln_w = buf.values(Cf), *ln_b = buf.values(Cf, w);
      const float* proj_w = Cf != E ? buf.values(size_t(E) * Cf, w) : nullptr;
      float *ln = buf.values(N * Cf), *mean = buf.values(N), *rstd = buf.values(N);
      float* y = buf.values(N * E);
      // the one norm no residual add precedes (the first layer's) has the final norm's cost
      return median_seconds([&] {
        be.layernorm_forward(ln, mean, rstd, x, ln_w, ln_b, T, Cf, kEps);
        if (Cf != E) be.matmul_forward(y, ln, proj_w, nullptr, T, Cf, E);
      });
    }
  }
  throw std::logic_error("time_op: unknown op kind");
}

}  // namespace merino::search
