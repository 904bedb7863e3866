// A Backend<T> that forwards every call to another backend: the base of the decorators that
// observe a model's ops (bench/timing_backend.h times them on the GPU, tests/recording_backend.h
// records them). Allocation and copies are forwarded as they are; every op that runs on the
// device -- the compute ops and zero_bytes -- goes through observe(), which a decorator
// overrides, with the op's name and size arguments. Every virtual of Backend is forwarded here
// and nowhere else: an op added to backend.h is added here once (a pure virtual left out makes
// every decorator fail to compile), and decorators override observe() alone.
#pragma once
#include <functional>
#include <initializer_list>
#include <string>

#include "kernels/backend.h"

namespace merino {

// One observed op: its name (the Backend method's) and its size arguments in declaration order
// (counts, shapes, eps, theta, offsets; for matmul_forward and matmul_gelu_forward last 1 when
// there is a bias, else 0). Doubles hold every size exactly.
struct ObservedOp {
  const char* name;
  std::initializer_list<double> sizes;
};

template <class T>
class ForwardingBackend : public Backend<T> {
 public:
  using A = acc_t<T>;
  explicit ForwardingBackend(Backend<T>& inner) : inner_(inner) {}

  std::string name() const override { return inner_.name(); }
  void* alloc_bytes(size_t bytes) override { return inner_.alloc_bytes(bytes); }
  void release(void* p) override { inner_.release(p); }
  void upload_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.upload_bytes(dst, src, bytes);
  }
  void download_bytes(void* dst, const void* src, size_t bytes) override {
    inner_.download_bytes(dst, src, bytes);
  }
  void reserve(const MemoryPlan& plan) override { inner_.reserve(plan); }
  MemoryUse memory_use() const override { return inner_.memory_use(); }
  void zero_bytes(void* p, size_t bytes) override {
    observe({"zero_bytes", {double(bytes)}}, [&] { inner_.zero_bytes(p, bytes); });
  }
  void copy_bytes(void* dst, const void* src, size_t bytes) override {
    observe({"copy_bytes", {double(bytes)}}, [&] { inner_.copy_bytes(dst, src, bytes); });
  }

  void embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe, int B, int Tn,
                         int C, int pos_offset) override {
    observe({"embedding_forward", {double(B), double(Tn), double(C), double(pos_offset)}},
            [&] { inner_.embedding_forward(out, tokens, wte, wpe, B, Tn, C, pos_offset); });
  }
  void embedding_backward(A* dwte, A* dwpe, const T* dout, const int32_t* tokens, int B, int Tn,
                          int C, int pos_offset) override {
    observe({"embedding_backward", {double(B), double(Tn), double(C), double(pos_offset)}},
            [&] { inner_.embedding_backward(dwte, dwpe, dout, tokens, B, Tn, C, pos_offset); });
  }
  void layernorm_forward(T* out, A* mean, A* rstd, const T* inp, const T* weight, const T* bias,
                         int N, int C, A eps) override {
    observe({"layernorm_forward", {double(N), double(C), double(eps)}},
            [&] { inner_.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps); });
  }
  void layernorm_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                          const T* weight, const A* mean, const A* rstd, int N, int C) override {
    observe({"layernorm_backward", {double(N), double(C)}}, [&] {
      inner_.layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    });
  }
  void rmsnorm_forward(T* out, A* rstd, const T* inp, const T* weight, int N, int C,
                       A eps) override {
    observe({"rmsnorm_forward", {double(N), double(C), double(eps)}},
            [&] { inner_.rmsnorm_forward(out, rstd, inp, weight, N, C, eps); });
  }
  void rmsnorm_backward(T* dinp, A* dweight, const T* dout, const T* inp, const T* weight,
                        const A* rstd, int N, int C) override {
    observe({"rmsnorm_backward", {double(N), double(C)}},
            [&] { inner_.rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C); });
  }
  void residual_layernorm_forward(T* sum, T* out, A* mean, A* rstd, const T* a, const T* b,
                                  const T* weight, const T* bias, int N, int C, A eps) override {
    observe({"residual_layernorm_forward", {double(N), double(C), double(eps)}}, [&] {
      inner_.residual_layernorm_forward(sum, out, mean, rstd, a, b, weight, bias, N, C, eps);
    });
  }
  void residual_rmsnorm_forward(T* sum, T* out, A* rstd, const T* a, const T* b, const T* weight,
                                int N, int C, A eps) override {
    observe({"residual_rmsnorm_forward", {double(N), double(C), double(eps)}},
            [&] { inner_.residual_rmsnorm_forward(sum, out, rstd, a, b, weight, N, C, eps); });
  }
  void matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC,
                      int OC) override {
    observe({"matmul_forward", {double(N), double(IC), double(OC), double(bias != nullptr)}},
            [&] { inner_.matmul_forward(out, inp, weight, bias, N, IC, OC); });
  }
  void matmul_backward(T* dinp, A* dweight, A* dbias, const T* dout, const T* inp,
                       const T* weight, int N, int IC, int OC) override {
    observe({"matmul_backward", {double(N), double(IC), double(OC)}},
            [&] { inner_.matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC); });
  }
  void matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight, const T* bias, int N,
                           int IC, int OC) override {
    observe({"matmul_gelu_forward", {double(N), double(IC), double(OC), double(bias != nullptr)}},
            [&] { inner_.matmul_gelu_forward(out, pre, inp, weight, bias, N, IC, OC); });
  }
  void matmul_gelu_backward(T* dpre, A* dweight, A* dbias, const T* dout, const T* inp,
                            const T* pre, const T* weight, int N, int IC, int OC) override {
    observe({"matmul_gelu_backward", {double(N), double(IC), double(OC)}}, [&] {
      inner_.matmul_gelu_backward(dpre, dweight, dbias, dout, inp, pre, weight, N, IC, OC);
    });
  }
  void attention_forward(T* out, A* lse, const T* qkv, int B, int Tn, int H, int KVH,
                         int hd) override {
    observe({"attention_forward", {double(B), double(Tn), double(H), double(KVH), double(hd)}},
            [&] { inner_.attention_forward(out, lse, qkv, B, Tn, H, KVH, hd); });
  }
  void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const A* lse, int B,
                          int Tn, int H, int KVH, int hd) override {
    observe({"attention_backward", {double(B), double(Tn), double(H), double(KVH), double(hd)}},
            [&] { inner_.attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd); });
  }
  void rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    observe({"rope_forward", {double(B), double(Tn), double(H), double(KVH), double(hd), theta}},
            [&] { inner_.rope_forward(qkv, B, Tn, H, KVH, hd, theta); });
  }
  void rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) override {
    observe({"rope_backward", {double(B), double(Tn), double(H), double(KVH), double(hd), theta}},
            [&] { inner_.rope_backward(dqkv, B, Tn, H, KVH, hd, theta); });
  }
  void rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                       int pos0) override {
    observe({"rope_forward_at",
             {double(B), double(Tn), double(H), double(KVH), double(hd), theta, double(pos0)}},
            [&] { inner_.rope_forward_at(qkv, B, Tn, H, KVH, hd, theta, pos0); });
  }
  void attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B, int Tq,
                                int Tk, int cap, int H, int KVH, int hd) override {
    observe({"attention_cached_forward",
             {double(B), double(Tq), double(Tk), double(cap), double(H), double(KVH), double(hd)}},
            [&] {
              inner_.attention_cached_forward(out, k_cache, v_cache, qkv, B, Tq, Tk, cap, H, KVH,
                                              hd);
            });
  }
  void gelu_forward(T* out, const T* inp, size_t n) override {
    observe({"gelu_forward", {double(n)}}, [&] { inner_.gelu_forward(out, inp, n); });
  }
  void gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) override {
    observe({"gelu_backward", {double(n)}}, [&] { inner_.gelu_backward(dinp, dout, inp, n); });
  }
  void relu_forward(T* out, const T* inp, size_t n) override {
    observe({"relu_forward", {double(n)}}, [&] { inner_.relu_forward(out, inp, n); });
  }
  void relu_backward(T* dinp, const T* dout, const T* inp, size_t n) override {
    observe({"relu_backward", {double(n)}}, [&] { inner_.relu_backward(dinp, dout, inp, n); });
  }
  void swiglu_forward(T* out, const T* inp, int N, int F) override {
    observe({"swiglu_forward", {double(N), double(F)}},
            [&] { inner_.swiglu_forward(out, inp, N, F); });
  }
  void swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) override {
    observe({"swiglu_backward", {double(N), double(F)}},
            [&] { inner_.swiglu_backward(dinp, dout, inp, N, F); });
  }
  void residual_forward(T* out, const T* a, const T* b, size_t n) override {
    observe({"residual_forward", {double(n)}}, [&] { inner_.residual_forward(out, a, b, n); });
  }
  void accumulate(T* dst, const T* src, size_t n) override {
    observe({"accumulate", {double(n)}}, [&] { inner_.accumulate(dst, src, n); });
  }
  void crossentropy_forward(A* losses, const T* logits, const int32_t* targets, int N, int V,
                            int ld, int32_t ignore_index) override {
    observe({"crossentropy_forward", {double(N), double(V), double(ld), double(ignore_index)}},
            [&] { inner_.crossentropy_forward(losses, logits, targets, N, V, ld, ignore_index); });
  }
  void crossentropy_forward_backward(T* logits, A* losses, const int32_t* targets, int N, int V,
                                     int ld, int32_t ignore_index, A dloss_scale) override {
    observe({"crossentropy_forward_backward",
             {double(N), double(V), double(ld), double(ignore_index)}},
            [&] {
              inner_.crossentropy_forward_backward(logits, losses, targets, N, V, ld,
                                                   ignore_index, dloss_scale);
            });
  }
  void adamw_update(A* master, T* params, const A* grads, A* m, A* v, size_t n,
                    const AdamWStep& step, size_t index_offset) override {
    observe({"adamw_update", {double(n), double(index_offset)}},
            [&] { inner_.adamw_update(master, params, grads, m, v, n, step, index_offset); });
  }
  void narrow(T* dst, const A* src, size_t n, const AdamWStep& step,
              size_t index_offset) override {
    observe({"narrow", {double(n), double(index_offset)}},
            [&] { inner_.narrow(dst, src, n, step, index_offset); });
  }
  double sum_squares(const A* x, size_t n) override {
    double r = 0.0;
    observe({"sum_squares", {double(n)}}, [&] { r = inner_.sum_squares(x, n); });
    return r;
  }

 protected:
  // Runs `run` (the op on the inner backend) exactly once; a decorator adds what it observes.
  virtual void observe(const ObservedOp& op, const std::function<void()>& run) = 0;

 private:
  Backend<T>& inner_;
};

}  // namespace merino
