// A Backend<T> decorator that forwards every op to the real CUDA backend and, while recording,
// brackets each op with a pair of CUDA events on the backend's stream, so that one training
// step can be split into time per op name (the per-op breakdown bench_cuda_model prints). The
// events are read only after the step, so recording adds two event records per op and no
// synchronisation; memory management and copies are forwarded untimed. The design is the
// decorator of a profiling proxy (e.g. PyTorch's record_function ranges, read back per name).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.cuh"

namespace merino::bench {

// One op name's share of a recorded step.
struct OpTime {
  std::string op;
  int calls = 0;
  double ms = 0.0;
};

template <class T>
class TimingBackend final : public Backend<T> {
 public:
  using A = acc_t<T>;
  // inner: the backend doing the work; stream: the cudaStream_t its ops are queued on
  TimingBackend(Backend<T>& inner, void* stream)
      : inner_(inner), stream_(static_cast<cudaStream_t>(stream)) {}
  ~TimingBackend() override {
    for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  }
  TimingBackend(const TimingBackend&) = delete;
  TimingBackend& operator=(const TimingBackend&) = delete;

  // Ops queued between start() and finish() are timed; finish() waits for them and returns the
  // time per op name, most expensive first, and the whole span's time in *span_ms.
  void start() {
    marks_.clear();
    used_ = 0;
    span_start_ = next_event();
    CUDA_CHECK(cudaEventRecord(span_start_, stream_));
    recording_ = true;
  }
  std::vector<OpTime> finish(double* span_ms) {
    recording_ = false;
    cudaEvent_t span_stop = next_event();
    CUDA_CHECK(cudaEventRecord(span_stop, stream_));
    CUDA_CHECK(cudaEventSynchronize(span_stop));
    *span_ms = elapsed_ms(span_start_, span_stop);
    std::map<std::string, OpTime> by_name;
    for (const Mark& m : marks_) {
      OpTime& t = by_name[m.op];
      t.op = m.op;
      t.calls += 1;
      t.ms += elapsed_ms(m.start, m.stop);
    }
    std::vector<OpTime> out;
    for (auto& [name, t] : by_name) out.push_back(t);
    std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.ms > b.ms; });
    return out;
  }

  std::string name() const override { return inner_.name(); }
  void* alloc_bytes(size_t bytes) override { return inner_.alloc_bytes(bytes); }
  void release(void* p) override { inner_.release(p); }
  void upload_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.upload_bytes(dst, src, bytes);
  }
  void download_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.download_bytes(dst, src, bytes);
  }
  void zero_bytes(void* p, size_t bytes) override {
    timed("zero", [&] { inner_.zero_bytes(p, bytes); });
  }
  void copy_bytes(void* dst, const void* src, size_t bytes) override {
    timed("copy", [&] { inner_.copy_bytes(dst, src, bytes); });
  }
  void reserve(const MemoryPlan& plan) override { inner_.reserve(plan); }
  MemoryUse memory_use() const override { return inner_.memory_use(); }

  void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                         int C, int pos_offset) override {
    timed("embedding_forward",
          [&] { inner_.embedding_forward(out, tokens, wte, wpe, B, Tn, C, pos_offset); });
  }
  void embedding_backward(A* dwte, A* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                          int C, int pos_offset) override {
    timed("embedding_backward",
          [&] { inner_.embedding_backward(dwte, dwpe, dout, tokens, B, Tn, C, pos_offset); });
  }
  void layernorm_forward(T* out, A* mean, A* rstd, const T* inp, const T* weight, const T* bias,
                         int N, int C, A eps) override {
    timed("layernorm_forward",
          [&] { inner_.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps); });
  }
  void layernorm_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                          const T* weight, const A* mean, const A* rstd, int N, int C) override {
    timed("layernorm_backward", [&] {
      inner_.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    });
  }
  void rmsnorm_forward(T* out, A* rstd, const T* inp, const T* weight, int N, int C,
                       A eps) override {
    timed("rmsnorm_forward", [&] { inner_.rmsnorm_forward(out, rstd, inp, weight, N, C, eps); });
  }
  void rmsnorm_backward(T* dinp, A* dweight, const T* dout, const T* inp, const T* weight,
                        const A* rstd, int N, int C) override {
    timed("rmsnorm_backward",
          [&] { inner_.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C); });
  }
  void residual_layernorm_forward(T* sum, T* out, A* mean, A* rstd, const T* a, const T* b,
                                  const T* weight, const T* bias, int N, int C, A eps) override {
    timed("residual_layernorm_forward", [&] {
      inner_.residual_layernorm_forward(sum, out, mean, rstd, a, b, weight, bias, N, C, eps);
    });
  }
  void residual_rmsnorm_forward(T* sum, T* out, A* rstd, const T* a, const T* b, const T* weight,
                                int N, int C, A eps) override {
    timed("residual_rmsnorm_forward",
          [&] { inner_.residual_rmsnorm_forward(sum, out, rstd, a, b, weight, N, C, eps); });
  }
  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                      int OC) override {
    timed("matmul_forward", [&] { inner_.matmul_forward(out, inp, weight, bias, N, IC, OC); });
  }
  void matmul_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                       const T* weight, int N, int IC, int OC) override {
    timed("matmul_backward",
          [&] { inner_.matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC); });
  }
  void matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight, const T* bias, int N,
                           int IC, int OC) override {
    timed("matmul_gelu_forward",
          [&] { inner_.matmul_gelu_forward(out, pre, inp, weight, bias, N, IC, OC); });
  }
  void matmul_gelu_backward(T* dpre, A* dweight, A* dbias, const T* dout, const T* inp,
                            const T* pre, const T* weight, int N, int IC, int OC) override {
    timed("matmul_gelu_backward", [&] {
      inner_.matmul_gelu_backward(dpre, dweight, dbias, dout, inp, pre, weight, N, IC, OC);
    });
  }
  void attention_forward(T* out, A* lse, const T* qkv, int B, int Tn, int H, int KVH,
                         int hd) override {
    timed("attention_forward", [&] { inner_.attention_forward(out, lse, qkv, B, Tn, H, KVH, hd); });
  }
  void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const A* lse, int B,
                          int Tn, int H, int KVH, int hd) override {
    timed("attention_backward",
          [&] { inner_.attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd); });
  }
  void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    timed("rope_forward", [&] { inner_.rope_forward(qkv, B, Tn, H, KVH, hd, theta); });
  }
  void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    timed("rope_backward", [&] { inner_.rope_backward(dqkv, B, Tn, H, KVH, hd, theta); });
  }
  void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                       int pos0) override {
    timed("rope_forward_at", [&] { inner_.rope_forward_at(qkv, B, Tn, H, KVH, hd, theta, pos0); });
  }
  void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq,
                                int Tk, int cap, int H, int KVH, int hd) override {
    timed("attention_cached_forward", [&] {
      inner_.attention_cached_forward(out, k_cache, v_cache, qkv, B, Tq, Tk, cap, H, KVH, hd);
    });
  }
  void gelu_forward(T* out, const T* inp, size_t n) override {
    timed("gelu_forward", [&] { inner_.gelu_forward(out, inp, n); });
  }
  void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) override {
    timed("gelu_backward", [&] { inner_.gelu_backward(dinp, dout, inp, n); });
  }
  void relu_forward(T* out, const T* inp, size_t n) override {
    timed("relu_forward", [&] { inner_.relu_forward(out, inp, n); });
  }
  void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) override {
    timed("relu_backward", [&] { inner_.relu_backward(dinp, dout, inp, n); });
  }
  void swiglu_forward(T* out, const T* inp, int N, int F) override {
    timed("swiglu_forward", [&] { inner_.swiglu_forward(out, inp, N, F); });
  }
  void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) override {
    timed("swiglu_backward", [&] { inner_.swiglu_backward(dinp, dout, inp, N, F); });
  }
  void residual_forward(T* out, const T* a, const T* b, size_t n) override {
    timed("residual_forward", [&] { inner_.residual_forward(out, a, b, n); });
  }
  void accumulate(T* dst, const T* src, size_t n) override {
    timed("accumulate", [&] { inner_.accumulate(dst, src, n); });
  }
  void crossentropy_forward(A* losses, const T* logits, const int32_t* targets, int N, int V,
                            int ld, int32_t ignore_index) override {
    timed("crossentropy_forward",
          [&] { inner_.crossentropy_forward(losses, logits, targets, N, V, ld, ignore_index); });
  }
  void crossentropy_forward_backward(T* logits, A* losses, const int32_t* targets, int N, int V,
                                     int ld, int32_t ignore_index, A dloss_scale) override {
    timed("crossentropy_forward_backward", [&] {
      inner_.crossentropy_forward_backward(logits, losses, targets, N, V, ld, ignore_index,
                                           dloss_scale);
    });
  }
  void adamw_update(A* master, T* params, const A* grads, A* m, A* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override {
    timed("adamw_update",
          [&] { inner_.adamw_update(master, params, grads, m, v, n, step, index_offset); });
  }
  void narrow(T* dst, const A* src, size_t n, const AdamWStep& step,
              size_t index_offset) override {
    timed("narrow", [&] { inner_.narrow(dst, src, n, step, index_offset); });
  }
  double sum_squares(const A* x, size_t n) override {
    double r = 0.0;
    timed("sum_squares", [&] { r = inner_.sum_squares(x, n); });
    return r;
  }

 private:
  struct Mark {
    const char* op;
    cudaEvent_t start, stop;
  };

  template <class F>
  void timed(const char* op, F&& f) {
    if (!recording_) {
      f();
      return;
    }
    Mark m{op, next_event(), next_event()};
    CUDA_CHECK(cudaEventRecord(m.start, stream_));
    f();
    CUDA_CHECK(cudaEventRecord(m.stop, stream_));
    marks_.push_back(m);
  }
  // events are reused from one recorded span to the next
  cudaEvent_t next_event() {
    if (used_ == pool_.size()) {
      cudaEvent_t e;
      CUDA_CHECK(cudaEventCreate(&e));
      pool_.push_back(e);
    }
    return pool_[used_++];
  }
  static double elapsed_ms(cudaEvent_t a, cudaEvent_t b) {
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    return ms;
  }

  Backend<T>& inner_;
  cudaStream_t stream_;
  bool recording_ = false;
  std::vector<cudaEvent_t> pool_;
  size_t used_ = 0;
  cudaEvent_t span_start_ = nullptr;
  std::vector<Mark> marks_;
};

}  // namespace merino::bench
