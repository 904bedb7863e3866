// A Backend<float> decorator that forwards every call to a CpuBackend<float> and, for each
// compute op, appends its name and size arguments ("matmul_forward 8 32 96") to ops(), so a test
// can compare the op sequences two callers issue. Memory management and copies are not ops.
#pragma once
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace merino::test {

class RecordingBackend final : public Backend<float> {
 public:
  const std::vector<std::string>& ops() const { return ops_; }
  void clear() { ops_.clear(); }

  std::string name() const override { return "recording " + inner_.name(); }
  void* alloc_bytes(size_t bytes) override { return inner_.alloc_bytes(bytes); }
  void release(void* p) override { inner_.release(p); }
  void upload_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.upload_bytes(dst, src, bytes);
  }
  void download_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.download_bytes(dst, src, bytes);
  }
  void zero_bytes(void* p, size_t bytes) override { inner_.zero_bytes(p, bytes); }
  void copy_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.copy_bytes(dst, src, bytes);
  }
  void reserve(const MemoryPlan& plan) override { inner_.reserve(plan); }
  MemoryUse memory_use() const override { return inner_.memory_use(); }

  void embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe,
                         int B, int Tn, int C, int pos_offset) override {
    note("embedding_forward", B, Tn, C, pos_offset);
    inner_.embedding_forward(out, tokens, wte, wpe, B, Tn, C, pos_offset);
  }
  void embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int B,
                          int Tn, int C, int pos_offset) override {
    note("embedding_backward", B, Tn, C, pos_offset);
    inner_.embedding_backward(dwte, dwpe, dout, tokens, B, Tn, C, pos_offset);
  }
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                         const float* weight, const float* bias, int N, int C, float eps) override {
    note("layernorm_forward", N, C, eps);
    inner_.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                          const float* inp, const float* weight, const float* mean,
                          const float* rstd, int N, int C) override {
    note("layernorm_backward", N, C);
    inner_.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C,
                       float eps) override {
    note("rmsnorm_forward", N, C, eps);
    inner_.rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp,
                        const float* weight, const float* rstd, int N, int C) override {
    note("rmsnorm_backward", N, C);
    inner_.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  }
  void residual_layernorm_forward(float* sum, float* out, float* mean, float* rstd, const float* a,
                                  const float* b, const float* weight, const float* bias, int N,
                                  int C, float eps) override {
    note("residual_layernorm_forward", N, C, eps);
    inner_.residual_layernorm_forward(sum, out, mean, rstd, a, b, weight, bias, N, C, eps);
  }
  void residual_rmsnorm_forward(float* sum, float* out, float* rstd, const float* a, const float* b,
                                const float* weight, int N, int C, float eps) override {
    note("residual_rmsnorm_forward", N, C, eps);
    inner_.residual_rmsnorm_forward(sum, out, rstd, a, b, weight, N, C, eps);
  }
  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N,
                      int IC, int OC) override {
    note("matmul_forward", N, IC, OC, bias != nullptr);
    inner_.matmul_forward(out, inp, weight, bias, N, IC, OC);
  }
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                       const float* inp, const float* weight, int N, int IC, int OC) override {
    note("matmul_backward", N, IC, OC);
    inner_.matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
  }
  void matmul_gelu_forward(float* out, float* pre, const float* inp, const float* weight,
                           const float* bias, int N, int IC, int OC) override {
    note("matmul_gelu_forward", N, IC, OC, bias != nullptr);
    inner_.matmul_gelu_forward(out, pre, inp, weight, bias, N, IC, OC);
  }
  void matmul_gelu_backward(float* dpre, float* dweight, float* dbias, const float* dout,
                            const float* inp, const float* pre, const float* weight, int N, int IC,
                            int OC) override {
    note("matmul_gelu_backward", N, IC, OC);
    inner_.matmul_gelu_backward(dpre, dweight, dbias, dout, inp, pre, weight, N, IC, OC);
  }
  void attention_forward(float* out, float* lse, const float* qkv, int B, int Tn, int H, int KVH,
                         int hd) override {
    note("attention_forward", B, Tn, H, KVH, hd);
    inner_.attention_forward(out, lse, qkv, B, Tn, H, KVH, hd);
  }
  void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                          const float* lse, int B, int Tn, int H, int KVH, int hd) override {
    note("attention_backward", B, Tn, H, KVH, hd);
    inner_.attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd);
  }
  void rope_forward(float* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    note("rope_forward", B, Tn, H, KVH, hd, theta);
    inner_.rope_forward(qkv, B, Tn, H, KVH, hd, theta);
  }
  void rope_backward(float* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    note("rope_backward", B, Tn, H, KVH, hd, theta);
    inner_.rope_backward(dqkv, B, Tn, H, KVH, hd, theta);
  }
  void rope_forward_at(float* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                       int pos0) override {
    note("rope_forward_at", B, Tn, H, KVH, hd, theta, pos0);
    inner_.rope_forward_at(qkv, B, Tn, H, KVH, hd, theta, pos0);
  }
  void attention_cached_forward(float* out, float* k_cache, float* v_cache, const float* qkv,
                                int B, int Tq, int Tk, int cap, int H, int KVH, int hd) override {
    note("attention_cached_forward", B, Tq, Tk, cap, H, KVH, hd);
    inner_.attention_cached_forward(out, k_cache, v_cache, qkv, B, Tq, Tk, cap, H, KVH, hd);
  }
  void gelu_forward(float* out, const float* inp, size_t n) override {
    note("gelu_forward", n);
    inner_.gelu_forward(out, inp, n);
  }
  void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) override {
    note("gelu_backward", n);
    inner_.gelu_backward(dinp, dout, inp, n);
  }
  void relu_forward(float* out, const float* inp, size_t n) override {
    note("relu_forward", n);
    inner_.relu_forward(out, inp, n);
  }
  void relu_backward(float* dinp, const float* dout, const float* inp, size_t n) override {
    note("relu_backward", n);
    inner_.relu_backward(dinp, dout, inp, n);
  }
  void swiglu_forward(float* out, const float* inp, int N, int F) override {
    note("swiglu_forward", N, F);
    inner_.swiglu_forward(out, inp, N, F);
  }
  void swiglu_backward(float* dinp, const float* dout, const float* inp, int N, int F) override {
    note("swiglu_backward", N, F);
    inner_.swiglu_backward(dinp, dout, inp, N, F);
  }
  void residual_forward(float* out, const float* a, const float* b, size_t n) override {
    note("residual_forward", n);
    inner_.residual_forward(out, a, b, n);
  }
  void accumulate(float* dst, const float* src, size_t n) override {
    note("accumulate", n);
    inner_.accumulate(dst, src, n);
  }
  void crossentropy_forward(float* losses, const float* logits, const int32_t* targets, int N,
                            int V, int ld, int32_t ignore_index) override {
    note("crossentropy_forward", N, V, ld, ignore_index);
    inner_.crossentropy_forward(losses, logits, targets, N, V, ld, ignore_index);
  }
  void crossentropy_forward_backward(float* logits, float* losses, const int32_t* targets, int N,
                                     int V, int ld, int32_t ignore_index,
                                     float dloss_scale) override {
    note("crossentropy_forward_backward", N, V, ld, ignore_index);
    inner_.crossentropy_forward_backward(logits, losses, targets, N, V, ld, ignore_index,
                                         dloss_scale);
  }
  void adamw_update(float* master, float* params, const float* grads, float* m, float* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override {
    note("adamw_update", n, index_offset);
    inner_.adamw_update(master, params, grads, m, v, n, step, index_offset);
  }
  void narrow(float* dst, const float* src, size_t n, const AdamWStep& step,
              size_t index_offset) override {
    note("narrow", n, index_offset);
    inner_.narrow(dst, src, n, step, index_offset);
  }
  double sum_squares(const float* x, size_t n) override {
    note("sum_squares", n);
    return inner_.sum_squares(x, n);
  }

 private:
  template <class... Args>
  void note(const char* op, const Args&... sizes) {
    std::ostringstream line;
    line << op;
    ((line << ' ' << sizes), ...);
    ops_.push_back(line.str());
  }

  CpuBackend<float> inner_;
  std::vector<std::string> ops_;
};

}  // namespace merino::test
