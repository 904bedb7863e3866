// The whole model on the CUDA backend against the CPU backend, in both modes, for each model
// family. Without a device every test reports SKIPPED.
//
// fp32 (CudaBackend<float> vs CpuBackend<float>): the same weights and batch must give the same
// loss and every gradient within 1e-4 relative (per tensor, in the L2 norm); a few AdamW steps
// must stay on the CPU's trajectory. Both backends accumulate in fp32 (the CPU's matmuls through
// OpenBLAS, the GPU's through cuBLASLt without TF32), in different orders; over K <= 512 terms
// per dot product and a few layers the relative difference of a gradient tensor is of order
// 1e-6, so 1e-4 leaves a wide margin while any indexing or formula error (O(1e-2) or more) fails.
//
// Mixed precision (CudaBackend<bf16> vs CpuBackend<bf16>, the CPU emulation that rounds every
// bf16 output of an op to nearest): the same seed gives the same fp32 masters and, through the
// shared stochastic-rounding rule, bit-identical bf16 working copies. The two sides then round
// the same op outputs to bf16, but from fp32 values summed in different orders, and the GPU's
// attention also rounds its probabilities and their gradients to bf16 for the tensor-core
// products; so their activations differ by bf16 rounding noise, up to 2^-8 relative per stored
// value (bf16 keeps 8 significant bits), compounding over the ~30 ops of a forward and backward
// pass roughly as a random walk: sqrt(30) * 2^-8 ~ 2e-2 relative on a gradient tensor. Bounds:
// 5e-2 per gradient tensor (relative L2), 1% on the loss (a mean over many positions, so far
// less noisy than any one value). A wrong kernel (formula, index, a dropped or doubled term, a
// missed accumulation) is off by O(1) and fails by an order of magnitude or more.
// Two identical passes on the GPU must agree bit for bit in both modes (every kernel is
// deterministic: no float atomics; cuBLASLt runs the same cached plan), run from memory reserved
// by the model's plan with nothing allocated outside it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "base/errors.h"
#include "kernels/bf16.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.cuh"
#include "model/config.h"
#include "model/model.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/cuda/model_twins.h"
#include "tests/model/model_test_util.h"

namespace {

using merino::bf16;

using merino::testing::rel_l2;
merino::ModelConfig config(const std::string& name) {
  return merino::testing::cuda_test_config(name);
}

class WholeModel : public ::testing::TestWithParam<std::string> {};

// AdamW's fp32 moments m and v on a backend, released with the object
template <class T>
struct Moments {
  Moments(merino::Backend<T>& backend, size_t n)
      : be(backend), m(be.alloc_acc(n)), v(be.alloc_acc(n)) {}
  Moments(const Moments&) = delete;
  Moments& operator=(const Moments&) = delete;
  ~Moments() {
    be.release(m);
    be.release(v);
  }
  merino::Backend<T>& be;
  float* m;
  float* v;
};

// The working copies of both backends, as bits
std::vector<uint16_t> working_copy_bits(merino::Backend<bf16>& be, merino::Model<bf16>& m) {
  std::vector<bf16> host(m.num_params());
  be.download(host.data(), m.params(), host.size());
  std::vector<uint16_t> bits(host.size());
  for (size_t i = 0; i < host.size(); ++i) bits[i] = host[i].bits;
  return bits;
}

// One forward and backward pass on both backends from the same weights (fp32: copied; bf16:
// the same seed, which must give the same masters and working copies): the loss within
// loss_rtol, every gradient tensor within grad_tol relative L2 (the bounds of the file's head).
template <class T>
void loss_and_every_gradient_match(const merino::ModelConfig& cfg, double loss_rtol,
                                   double grad_tol) {
  merino::testing::ModelTwins<T> twins(cfg, 11);
  auto& [cpu_be, gpu_be, cpu, gpu] = twins;
  if constexpr (!std::is_same_v<T, float>) {
    EXPECT_TRUE(gpu.get_params() == cpu.get_params()) << "same seed, same fp32 master weights";
    EXPECT_TRUE(working_copy_bits(gpu_be, gpu) == working_copy_bits(cpu_be, cpu))
        << "the GPU's narrow() must round the masters exactly as the CPU's";
  }
  const int B = 3, T_ = cfg.context_length;
  const auto in = merino::test::random_tokens(size_t(B) * T_, cfg.vocab_size, 1);
  auto tg = merino::test::random_tokens(size_t(B) * T_, cfg.vocab_size, 2);
  tg[5] = merino::Model<T>::kIgnoreIndex;
  cpu.zero_grads();
  gpu.zero_grads();
  const float lc = cpu.forward_backward(in.data(), tg.data(), B, T_, 0.5f);
  const float lg = gpu.forward_backward(in.data(), tg.data(), B, T_, 0.5f);
  EXPECT_NEAR(lg, lc, loss_rtol * std::abs(lc));
  const std::vector<float> gc = cpu.get_grads(), gg = gpu.get_grads();
  for (const auto& e : cpu.layout().entries) {
    const double err = rel_l2(gg.data() + e.offset, gc.data() + e.offset, e.numel);
    EXPECT_LT(err, grad_tol) << e.name;
  }
}

TEST_P(WholeModel, LossAndEveryGradientMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  loss_and_every_gradient_match<float>(config(GetParam()), 1e-4, 1e-4);
}

TEST_P(WholeModel, Bf16LossAndEveryGradientMatchCpuMixedPrecision) {
  REQUIRE_CUDA_DEVICE();
  loss_and_every_gradient_match<bf16>(config(GetParam()), 1e-2, 5e-2);
}

TEST_P(WholeModel, AdamWStepsTrackCpu) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::testing::ModelTwins<float> twins(cfg, 3);
  auto& [cpu_be, gpu_be, cpu, gpu] = twins;
  const size_t n = cpu.num_params();
  const Moments<float> cpu_mv(cpu_be, n), gpu_mv(gpu_be, n);
  const int B = 2, T = cfg.context_length;
  std::vector<float> lc, lg;
  for (int step = 0; step < 5; ++step) {
    const auto in = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 10 + step);
    const auto tg = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 20 + step);
    merino::AdamWStep s;
    s.lr = 1e-3;
    s.step = step + 1;
    s.weight_decay = 0.1;
    cpu.zero_grads();
    gpu.zero_grads();
    lc.push_back(cpu.forward_backward(in.data(), tg.data(), B, T));
    lg.push_back(gpu.forward_backward(in.data(), tg.data(), B, T));
    EXPECT_NEAR(gpu_be.sum_squares(gpu.grads(), n), cpu_be.sum_squares(cpu.grads(), n),
                1e-4 * cpu_be.sum_squares(cpu.grads(), n));
    // fp32: the master weights are the parameters, there is no working copy
    cpu_be.adamw_update(cpu.master(), nullptr, cpu.grads(), cpu_mv.m, cpu_mv.v, n, s, 0);
    gpu_be.adamw_update(gpu.master(), nullptr, gpu.grads(), gpu_mv.m, gpu_mv.v, n, s, 0);
  }
  for (size_t i = 0; i < lc.size(); ++i) {
    EXPECT_NEAR(lg[i], lc[i], 1e-4 * std::abs(lc[i])) << "step " << i + 1;
  }
  const std::vector<float> pc = cpu.get_params(), pg = gpu.get_params();
  EXPECT_LT(rel_l2(pg.data(), pc.data(), n), 1e-4);
}

// AdamW in mixed precision through both backends. Its first steps are close to sign(gradient)
// per element, so gradients that differ by bf16 noise (checked above) would flip the updates of
// the near-zero ones and blur the comparison; here the GPU's gradients are replaced by the
// CPU's after being compared, which isolates the optimizer path: the fp32 masters must then
// agree to a few ulps (the same float operations in the same order, kernels/cuda/adamw.cu), the
// GPU's bf16 working copy must be exactly the host stochastic-rounding rule applied to its
// masters with the step's stream, and the losses, computed from working copies that agree,
// must track within the 1% of the test above.
TEST_P(WholeModel, Bf16AdamWStepsTrackCpuMixedPrecision) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::testing::ModelTwins<bf16> twins(cfg, 3);
  auto& [cpu_be, gpu_be, cpu, gpu] = twins;
  const size_t n = cpu.num_params();
  const Moments<bf16> cpu_mv(cpu_be, n), gpu_mv(gpu_be, n);
  const int B = 2, T = cfg.context_length;
  merino::AdamWStep s;
  s.lr = 1e-3;
  s.weight_decay = 0.1;
  s.round_seed = 2024;
  for (int step = 0; step < 3; ++step) {
    SCOPED_TRACE("step " + std::to_string(step + 1));
    const auto in = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 10 + step);
    const auto tg = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 20 + step);
    s.step = step + 1;
    cpu.zero_grads();
    gpu.zero_grads();
    const float lc = cpu.forward_backward(in.data(), tg.data(), B, T);
    const float lg = gpu.forward_backward(in.data(), tg.data(), B, T);
    EXPECT_NEAR(lg, lc, 1e-2 * std::abs(lc));
    // a sum of squares has twice the relative error of its L2 norm (5e-2 above)
    const double sc = cpu_be.sum_squares(cpu.grads(), n);
    EXPECT_NEAR(gpu_be.sum_squares(gpu.grads(), n), sc, 1e-1 * sc);
    const std::vector<float> grads = cpu.get_grads();
    gpu_be.upload(gpu.grads(), grads.data(), n);
    cpu_be.adamw_update(cpu.master(), cpu.params(), cpu.grads(), cpu_mv.m, cpu_mv.v, n, s, 0);
    gpu_be.adamw_update(gpu.master(), gpu.params(), gpu.grads(), gpu_mv.m, gpu_mv.v, n, s, 0);

    const std::vector<float> pc = cpu.get_params(), pg = gpu.get_params();
    merino::testing::expect_close("masters", pg, pc, 1e-12, 4.0 / (1 << 23));
    const std::vector<uint16_t> copy = working_copy_bits(gpu_be, gpu);
    const uint64_t key = merino::stochastic_round_key(s.round_seed, s.step);
    size_t wrong = 0;
    for (size_t i = 0; i < n; ++i) {
      wrong += copy[i] != merino::bf16_stochastic_round_bits(pg[i], key, i);
    }
    EXPECT_EQ(wrong, 0u) << "working copy is not the stochastic rounding of the masters";
  }
}

// Run as the trainer runs: from one block reserved for the model's memory plan, which must
// also hold every kernel's scratch (nothing allocated outside it, gradient norm included).
template <class T>
void expect_two_passes_bit_identical(const merino::ModelConfig& cfg) {
  const int B = 2, T_ = cfg.context_length;
  merino::CudaBackend<T> be(0);
  be.reserve(merino::Model<T>::memory_plan(cfg, B, T_));
  merino::Model<T> m(cfg, be);
  m.init_weights(5);
  const auto in = merino::test::random_tokens(size_t(B) * T_, cfg.vocab_size, 7);
  const auto tg = merino::test::random_tokens(size_t(B) * T_, cfg.vocab_size, 8);
  m.zero_grads();
  const float l1 = m.forward_backward(in.data(), tg.data(), B, T_);
  const std::vector<float> g1 = m.get_grads();
  m.zero_grads();
  const float l2 = m.forward_backward(in.data(), tg.data(), B, T_);
  EXPECT_EQ(l1, l2);
  EXPECT_TRUE(g1 == m.get_grads());
  EXPECT_GT(be.sum_squares(m.grads(), m.num_params()), 0.0);
  EXPECT_EQ(be.memory_use().outside_peak, 0u) << "the memory plan missed a buffer or scratch";
}

TEST_P(WholeModel, TwoIdenticalPassesAreBitIdentical) {
  REQUIRE_CUDA_DEVICE();
  expect_two_passes_bit_identical<float>(config(GetParam()));
}

TEST_P(WholeModel, Bf16TwoIdenticalPassesAreBitIdentical) {
  REQUIRE_CUDA_DEVICE();
  expect_two_passes_bit_identical<bf16>(config(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Families, WholeModel,
                         ::testing::Values("gpt2-hd64", "llama-gqa3", "merino-blocks"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '-') c = '_';
                           return s;
                         });

// The backend's own optimizer entry points on a flat buffer, against the host rule: narrow()
// and adamw_update() write the working copy with the stream of (round_seed, step) and the
// element's index index_offset + i, and in fp32 mode adamw_update copies the new master into a
// separate params buffer when it is given one and narrow() is a copy.
TEST(CudaBackendOptimizer, NarrowAndAdamWFollowTheRoundingRule) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 100003, offset = 4097;
  std::mt19937 rng(9);
  const std::vector<float> master = merino::testing::uniform(n, rng, -2.f, 2.f);
  const std::vector<float> grads = merino::testing::uniform(n, rng, -1.f, 1.f);
  merino::AdamWStep s;
  s.lr = 1e-2;
  s.step = 4;
  s.round_seed = 77;
  const uint64_t key = merino::stochastic_round_key(s.round_seed, s.step);

  merino::CudaBackend<bf16> be(0);
  float* dm = be.alloc_acc(n);
  float* g = be.alloc_acc(n);
  float* m = be.alloc_acc(n);
  float* v = be.alloc_acc(n);
  bf16* p = be.alloc(n);
  be.upload(dm, master.data(), n);
  be.upload(g, grads.data(), n);
  be.narrow(p, dm, n, s, offset);
  std::vector<bf16> got(n);
  be.download(got.data(), p, n);
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    wrong += got[i].bits != merino::bf16_stochastic_round_bits(master[i], key, offset + i);
  }
  EXPECT_EQ(wrong, 0u) << "narrow";
  be.adamw_update(dm, p, g, m, v, n, s, offset);
  std::vector<float> updated(n);
  be.download(updated.data(), dm, n);
  be.download(got.data(), p, n);
  wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    wrong += got[i].bits != merino::bf16_stochastic_round_bits(updated[i], key, offset + i);
  }
  EXPECT_EQ(wrong, 0u) << "adamw_update's working copy";
  EXPECT_FALSE(updated == master) << "adamw_update must move the masters";

  merino::CudaBackend<float> fbe(0);
  float* fm = fbe.alloc(n);
  float* fp = fbe.alloc(n);
  float* fg = fbe.alloc(n);
  float* fmom = fbe.alloc(n);
  float* fvar = fbe.alloc(n);
  fbe.upload(fm, master.data(), n);
  fbe.upload(fg, grads.data(), n);
  fbe.narrow(fp, fm, n, s, offset);
  std::vector<float> copy(n);
  fbe.download(copy.data(), fp, n);
  EXPECT_TRUE(copy == master) << "fp32 narrow is a copy";
  fbe.adamw_update(fm, fp, fg, fmom, fvar, n, s, offset);
  std::vector<float> fmaster(n);
  fbe.download(fmaster.data(), fm, n);
  fbe.download(copy.data(), fp, n);
  EXPECT_FALSE(fmaster == master);
  EXPECT_TRUE(copy == fmaster) << "fp32 adamw_update copies the new master into params";
}

TEST(CudaBackendErrors, MissingDeviceIsOneClearError) {
  std::string why;
  if (merino::cuda::cuda_device_available(&why)) {
    EXPECT_THROW(merino::CudaBackend<float>(1 << 20), std::runtime_error);
    EXPECT_THROW(merino::CudaBackend<bf16>(1 << 20), std::runtime_error);
    return;
  }
  try {
    merino::CudaBackend<float> be(0);
    FAIL() << "constructing a CUDA backend without a device must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA backend: "), std::string::npos) << e.what();
  }
  EXPECT_THROW(merino::CudaBackend<bf16>(0), std::runtime_error);
}

// A run larger than the device fails at reserve(), before anything is allocated, with the
// plan's parts and the free memory in one message, and the backend stays usable.
TEST(CudaBackendErrors, PlanBeyondFreeMemoryIsOneClearError) {
  REQUIRE_CUDA_DEVICE();
  size_t free_bytes = 0, device_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &device_bytes));
  merino::MemoryPlan plan;
  plan.batch = 1, plan.seq_len = 8, plan.width = 64, plan.heads = 1;
  plan.add("parameters", device_bytes / 2);
  plan.add("activations", device_bytes / 2 + (size_t(1) << 30));
  merino::CudaBackend<bf16> be(0);
  try {
    be.reserve(plan);
    FAIL() << "a plan larger than the device must not be reserved";
  } catch (const merino::EnvironmentError& e) {
    const std::string what = e.what();
    for (const char* part : {"parameters ", "activations ", " are free"}) {
      EXPECT_NE(what.find(part), std::string::npos) << "missing '" << part << "' in: " << what;
    }
    // what to lower is the caller's advice (trainer: batch keys, eval: --batch)
    EXPECT_EQ(what.find("lower"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
  }
  EXPECT_EQ(be.memory_use().reserved, 0u);
  float* x = be.alloc_acc(1024);  // still usable, one buffer at a time
  be.release(x);
}

}  // namespace
