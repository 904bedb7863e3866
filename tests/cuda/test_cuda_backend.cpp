// The whole model on the CUDA backend (fp32 mode) against the CPU backend: the same weights and
// batch must give the same loss and every gradient within 1e-4 relative (per tensor, in the L2
// norm), for each model family; a few AdamW steps must stay on the CPU's trajectory; and two
// identical passes on the GPU must agree bit for bit (every kernel is deterministic: no float
// atomics; cuBLASLt runs the same cached plan). Without a device every test reports SKIPPED.
//
// Tolerance: both backends accumulate in fp32 (the CPU's matmuls through OpenBLAS, the GPU's
// through cuBLASLt without TF32), in different orders; over K <= 512 terms per dot product and a
// few layers the relative difference of a gradient tensor is of order 1e-6, so 1e-4 leaves a
// wide margin while any indexing or formula error (O(1e-2) or more) fails.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.cuh"
#include "model/config.h"
#include "model/model.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/model/model_test_util.h"

namespace {

merino::ModelConfig config(const std::string& name) {
  return merino::load_model_config(std::string(MERINO_SOURCE_DIR) + "/tests/cuda/configs/" + name + ".yaml");
}

double rel_l2(const float* a, const float* b, size_t n) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < n; ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref += double(b[i]) * b[i];
  }
  return std::sqrt(diff / std::max(ref, 1e-30));
}

class WholeModel : public ::testing::TestWithParam<std::string> {};

TEST_P(WholeModel, LossAndEveryGradientMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::CpuBackend<float> cpu_be;
  merino::CudaBackend gpu_be(0);
  merino::Model<float> cpu(cfg, cpu_be), gpu(cfg, gpu_be);
  cpu.init_weights(11);
  gpu.set_params(cpu.get_params());
  const int B = 3, T = cfg.context_length;
  const auto in = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 1);
  auto tg = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 2);
  tg[5] = merino::Model<float>::kIgnoreIndex;
  cpu.zero_grads();
  gpu.zero_grads();
  const float lc = cpu.forward_backward(in.data(), tg.data(), B, T, 0.5f);
  const float lg = gpu.forward_backward(in.data(), tg.data(), B, T, 0.5f);
  EXPECT_NEAR(lg, lc, 1e-4 * std::abs(lc));
  const std::vector<float> gc = cpu.get_grads(), gg = gpu.get_grads();
  for (const auto& e : cpu.layout().entries) {
    const double err = rel_l2(gg.data() + e.offset, gc.data() + e.offset, e.numel);
    EXPECT_LT(err, 1e-4) << e.name;
  }
}

TEST_P(WholeModel, AdamWStepsTrackCpu) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::CpuBackend<float> cpu_be;
  merino::CudaBackend gpu_be(0);
  merino::Model<float> cpu(cfg, cpu_be), gpu(cfg, gpu_be);
  cpu.init_weights(3);
  gpu.set_params(cpu.get_params());
  const size_t n = cpu.num_params();
  float* mc = cpu_be.alloc(n);
  float* vc = cpu_be.alloc(n);
  float* mg = gpu_be.alloc(n);
  float* vg = gpu_be.alloc(n);
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
    cpu_be.adamw_update(cpu.params(), cpu.grads(), mc, vc, n, s);
    gpu_be.adamw_update(gpu.params(), gpu.grads(), mg, vg, n, s);
  }
  for (size_t i = 0; i < lc.size(); ++i) EXPECT_NEAR(lg[i], lc[i], 1e-4 * std::abs(lc[i])) << "step " << i + 1;
  const std::vector<float> pc = cpu.get_params(), pg = gpu.get_params();
  EXPECT_LT(rel_l2(pg.data(), pc.data(), n), 1e-4);
  cpu_be.release(mc);
  cpu_be.release(vc);
  gpu_be.release(mg);
  gpu_be.release(vg);
}

TEST_P(WholeModel, TwoIdenticalPassesAreBitIdentical) {
  REQUIRE_CUDA_DEVICE();
  const merino::ModelConfig cfg = config(GetParam());
  merino::CudaBackend be(0);
  merino::Model<float> m(cfg, be);
  m.init_weights(5);
  const int B = 2, T = cfg.context_length;
  const auto in = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 7);
  const auto tg = merino::test::random_tokens(size_t(B) * T, cfg.vocab_size, 8);
  m.zero_grads();
  const float l1 = m.forward_backward(in.data(), tg.data(), B, T);
  const std::vector<float> g1 = m.get_grads();
  m.zero_grads();
  const float l2 = m.forward_backward(in.data(), tg.data(), B, T);
  EXPECT_EQ(l1, l2);
  EXPECT_TRUE(g1 == m.get_grads());
}

INSTANTIATE_TEST_SUITE_P(Families, WholeModel,
                         ::testing::Values("gpt2-hd64", "llama-gqa3", "merino-blocks"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) if (c == '-') c = '_';
                           return s;
                         });

TEST(CudaBackendErrors, MissingDeviceIsOneClearError) {
  std::string why;
  if (merino::cuda::cuda_device_available(&why)) {
    EXPECT_THROW(merino::CudaBackend(1 << 20), std::runtime_error);
    return;
  }
  try {
    merino::CudaBackend be(0);
    FAIL() << "constructing a CUDA backend without a device must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA backend: "), std::string::npos) << e.what();
  }
}

}  // namespace
