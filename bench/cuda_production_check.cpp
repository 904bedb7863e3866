// Pass/fail checks at the shapes we train at, which a benchmark printing tokens/s would not
// catch (a NaN at B=16, T=1024 still runs at full speed), for scripts/gpu-check.sh:
// * model.<config>.initial_loss: the bf16 model's step-0 loss on random tokens is within 0.5
//   of ln V (GPT-2 initialisation gives near-uniform logits, so the loss starts at ln V);
// * model.<config>.finite_losses: 20 AdamW steps at B=16, T=1024, every loss finite;
// * attention.<dtype>.<shape>: the CUDA backend's attention forward and backward (whatever
//   kernel it dispatches to) against the fp32 CPU twin (kernels/cpu/attention.h) on the same
//   dtype-rounded inputs, per element |gpu - cpu| <= atol + rtol |cpu| with the bounds
//   tests/cuda/test_cuda_attention.cpp derives (bf16: 1e-2 + 1e-2 on out, 2e-2 + 1e-2 on dqkv;
//   fp32: 1e-5 / 2e-5 + 1e-4), the worst |diff| printed; outputs start as NaN, so an unwritten
//   element fails. Production head shapes at T = 1024, B = 1 (the CPU twin is the slow side).
// --sanitize: only attention, bf16 and fp32, at one small shape per head-size class (hd 48, 64,
// 128; T = 130, a partial last tile), for compute-sanitizer's racecheck and synccheck.
// Prints one PASS/FAIL line per check; --json FILE also writes [{"check", "passed", "detail"}].
// Exit 1 when a check failed; prints SKIPPED and exits 0 without a device.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_training_model.h"
#include "kernels/bf16.h"
#include "kernels/cpu/attention.h"
#include "kernels/cuda/cuda_backend.h"
#include "model/model.h"

namespace {

using merino::bf16;
using Floats = std::vector<float>;

struct Result {
  std::string check;
  bool passed;
  std::string detail;
};

std::string format(const char* fmt, double a, double b = 0.0, double c = 0.0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

// ---- the model at B=16, T=1024 in bf16 ---------------------------------------------------------

std::vector<Result> check_model(const std::string& config) {
  const int B = 16, Tn = 1024, steps = 20;
  merino::CudaBackend<bf16> be(0);
  merino::bench::CudaTrainingModel<bf16> trained(config, be, be, B, Tn);
  merino::Model<bf16>& model = trained.model();
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(size_t(B) * Tn), targets(tokens.size());
  merino::AdamWStep step;
  step.lr = 6e-4;  // configs' usual peak learning rate
  step.round_seed = 1;
  const double ln_v = std::log(double(trained.config().vocab_size));
  double first = 0.0;
  std::string bad;
  for (int s = 0; s < steps && bad.empty(); ++s) {
    trained.random_tokens(rng, tokens);
    trained.random_tokens(rng, targets);
    model.zero_grads();
    const double loss = model.forward_backward(tokens.data(), targets.data(), B, Tn);
    if (s == 0) first = loss;
    if (!std::isfinite(loss)) bad = format("step %.0f: loss %g", s, loss);
    ++step.step;
    trained.adamw_update(be, step);
  }
  const std::string name = "model." + config;
  return {{name + ".initial_loss", std::fabs(first - ln_v) <= 0.5,
           format("step-0 loss %.4f, ln V %.4f (|diff| <= 0.5)", first, ln_v)},
          {name + ".finite_losses", bad.empty(),
           bad.empty() ? format("%.0f steps at B=16 T=1024, every loss finite", steps) : bad}};
}

// ---- attention against the CPU twin -----------------------------------------------------------

struct Shape {
  const char* name;
  int B, T, H, KVH, hd;
};

template <class E>
E narrow_to(float x) {
  if constexpr (std::is_same_v<E, float>) {
    return x;
  } else {
    return merino::bf16_round_nearest(x);
  }
}
template <class E>
float widen(E x) {
  if constexpr (std::is_same_v<E, float>) {
    return x;
  } else {
    return merino::to_float(x);
  }
}
template <class E>
std::vector<E> narrow_all(const Floats& v) {
  std::vector<E> r(v.size());
  std::transform(v.begin(), v.end(), r.begin(), narrow_to<E>);
  return r;
}
template <class E>
Floats widen_all(const std::vector<E>& v) {
  Floats r(v.size());
  std::transform(v.begin(), v.end(), r.begin(), widen<E>);
  return r;
}

// the largest |got - ref| and whether every element is within atol + rtol |ref| (NaN is not)
struct Worst {
  double diff = 0.0;
  bool ok = true;
};
Worst compare(const Floats& got, const Floats& ref, double atol, double rtol) {
  Worst w;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(ref[i]));
    if (!(d <= atol + rtol * std::fabs(ref[i]))) w.ok = false;
    if (!(d <= w.diff)) w.diff = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
  }
  return w;
}

template <class E>
Result check_attention(const Shape& s, uint32_t seed) {
  const bool is_bf16 = !std::is_same_v<E, float>;
  const double out_atol = is_bf16 ? 1e-2 : 1e-5, grad_atol = is_bf16 ? 2e-2 : 2e-5;
  const double rtol = is_bf16 ? 1e-2 : 1e-4;
  const size_t C3 = size_t(s.H + 2 * s.KVH) * s.hd, BT = size_t(s.B) * s.T;
  const size_t n_out = BT * s.H * s.hd, n_lse = size_t(s.B) * s.H * s.T;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.f, 2.f);  // scores of O(1..5): a peaked softmax
  Floats qkv(BT * C3), dout(n_out);
  for (auto& x : qkv) x = widen(narrow_to<E>(dist(rng)));
  for (auto& x : dout) x = widen(narrow_to<E>(0.5f * dist(rng)));
  Floats out(n_out), lse(n_lse), dqkv(BT * C3);
  merino::cpu::attention_forward<float>(out.data(), lse.data(), qkv.data(), s.B, s.T, s.H, s.KVH,
                                        s.hd);
  out = widen_all(narrow_all<E>(out));  // what the GPU stores and its backward reads
  merino::cpu::attention_backward<float>(dqkv.data(), dout.data(), qkv.data(), out.data(),
                                         lse.data(), s.B, s.T, s.H, s.KVH, s.hd);

  merino::CudaBackend<E> be(0);
  E* d_qkv = be.alloc(qkv.size());
  E* d_dout = be.alloc(dout.size());
  E* d_out = be.alloc(n_out);
  E* d_ref_out = be.alloc(n_out);
  E* d_dqkv = be.alloc(dqkv.size());
  float* d_lse = be.alloc_acc(n_lse);
  float* d_ref_lse = be.alloc_acc(n_lse);
  const std::vector<E> nan_out(n_out, narrow_to<E>(std::nanf(""))),
      nan_dqkv(dqkv.size(), narrow_to<E>(std::nanf("")));
  be.upload(d_qkv, narrow_all<E>(qkv).data(), qkv.size());
  be.upload(d_dout, narrow_all<E>(dout).data(), dout.size());
  be.upload(d_out, nan_out.data(), n_out);
  be.upload(d_dqkv, nan_dqkv.data(), dqkv.size());
  be.attention_forward(d_out, d_lse, d_qkv, s.B, s.T, s.H, s.KVH, s.hd);
  // backward on the reference's out and lse, so that it is judged on its own
  be.upload(d_ref_out, narrow_all<E>(out).data(), n_out);
  be.upload(d_ref_lse, lse.data(), n_lse);
  be.attention_backward(d_dqkv, d_dout, d_qkv, d_ref_out, d_ref_lse, s.B, s.T, s.H, s.KVH, s.hd);
  std::vector<E> got_out(n_out), got_dqkv(dqkv.size());
  be.download(got_out.data(), d_out, n_out);
  be.download(got_dqkv.data(), d_dqkv, dqkv.size());
  for (void* p : {static_cast<void*>(d_qkv), static_cast<void*>(d_dout), static_cast<void*>(d_out),
                  static_cast<void*>(d_ref_out), static_cast<void*>(d_dqkv),
                  static_cast<void*>(d_lse), static_cast<void*>(d_ref_lse)}) {
    be.release(p);
  }
  const Worst wo = compare(widen_all(got_out), out, out_atol, rtol);
  const Worst wg = compare(widen_all(got_dqkv), dqkv, grad_atol, rtol);
  char shape[128];
  std::snprintf(shape, sizeof shape, "%s B=%d T=%d H=%d KVH=%d hd=%d", s.name, s.B, s.T, s.H,
                s.KVH, s.hd);
  return {std::string("attention.") + (is_bf16 ? "bf16." : "fp32.") + s.name, wo.ok && wg.ok,
          std::string(shape) +
              format(": max |diff| out %.3g, dqkv %.3g (per element <= atol + %.0e |ref|)",
                     wo.diff, wg.diff, rtol) +
              (wo.ok && wg.ok ? "" : " OUT OF BOUNDS")};
}

// one check's exception (out of memory, an unsupported shape, a CUDA error) fails that check
template <class F>
void run(std::vector<Result>& results, const std::string& name, F&& f) {
  try {
    for (const Result& r : f()) results.push_back(r);
  } catch (const std::exception& e) {
    results.push_back({name, false, std::string("error: ") + e.what()});
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  bool sanitize = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--sanitize") == 0) {
      sanitize = true;
    } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "cuda_production_check: unknown argument '%s' (usage: "
                           "cuda_production_check [--sanitize] [--json FILE])\n", argv[i]);
      return 2;
    }
  }
  if (merino::bench::skipped_without_cuda_device()) return 0;

  std::vector<Result> results;
  // production head shapes: gpt2-124m, mobilellm-125m (grouped), the searched MeRino's two
  const Shape production[] = {{"gpt2-124m", 1, 1024, 12, 12, 64},
                              {"mobilellm-125m", 1, 1024, 9, 3, 64},
                              {"merino-hd48", 1, 1024, 15, 15, 48},
                              {"merino-hd96", 1, 1024, 10, 10, 96}};
  const Shape small[] = {{"hd48", 1, 130, 3, 1, 48}, {"hd64", 1, 130, 3, 1, 64},
                         {"hd128", 1, 130, 3, 1, 128}};
  uint32_t seed = 1;
  if (sanitize) {
    for (const Shape& s : small) {
      run(results, std::string("attention.bf16.") + s.name,
          [&] { return std::vector<Result>{check_attention<bf16>(s, seed++)}; });
      run(results, std::string("attention.fp32.") + s.name,
          [&] { return std::vector<Result>{check_attention<float>(s, seed++)}; });
    }
  } else {
    for (const char* config : {"gpt2-124m", "mobilellm-125m"}) {
      run(results, std::string("model.") + config, [&] { return check_model(config); });
    }
    for (const Shape& s : production) {
      run(results, std::string("attention.bf16.") + s.name,
          [&] { return std::vector<Result>{check_attention<bf16>(s, seed++)}; });
    }
  }
  nlohmann::json out = nlohmann::json::array();
  int failed = 0;
  for (const Result& r : results) {
    std::printf("%s %s: %s\n", r.passed ? "PASS" : "FAIL", r.check.c_str(), r.detail.c_str());
    out.push_back({{"check", r.check}, {"passed", r.passed}, {"detail", r.detail}});
    failed += !r.passed;
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return failed ? 1 : 0;
}
