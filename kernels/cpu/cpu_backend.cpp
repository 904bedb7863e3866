// Design: a thin forwarding layer, so the kernels stay free functions that tests call
// directly. Profiling is one RAII timer constructed at the top of each op with __func__ as
// its key: no per-op bookkeeping code to drift, and with profiling off the timer holds a null
// sink and does nothing but test it (no clock reads, no map look-ups).
#include "kernels/cpu/cpu_backend.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/host_memory.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_cached.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/rope.h"

namespace merino {

namespace {

// Adds the scope's wall time to (*sink)[name] on exit; inert when sink is null.
class OpTimer {
 public:
  using Clock = std::chrono::steady_clock;
  OpTimer(std::map<std::string, double>* sink, const char* name) : sink_(sink), name_(name) {
    if (sink_) start_ = Clock::now();
  }
  ~OpTimer() {
    if (sink_) (*sink_)[name_] += std::chrono::duration<double>(Clock::now() - start_).count();
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  std::map<std::string, double>* sink_;
  const char* name_;
  Clock::time_point start_{};
};

// DeviceMemory hands sizes rounded to Arena::kAlign, the multiple aligned_alloc wants
void* host_alloc(size_t bytes) {
  void* p = std::aligned_alloc(Arena::kAlign, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

template <class T>
CpuBackend<T>::CpuBackend() : mem_(host_alloc, [](void* p) { std::free(p); }) {}

template <class T>
void* CpuBackend<T>::alloc_bytes(size_t bytes) {
  void* p = mem_.alloc(bytes);
  std::memset(p, 0, bytes);
  return p;
}
template <class T>
void CpuBackend<T>::release(void* p) {
  mem_.release(p);
}
template <class T>
void CpuBackend<T>::reserve(const MemoryPlan& plan) {
  reserve_host_block(mem_, plan, name());
}
template <class T>
MemoryUse CpuBackend<T>::memory_use() const {
  return mem_.use();
}
template <class T>
void CpuBackend<T>::upload_bytes(void* dst, const void* host_src, size_t bytes) {
  OpTimer timer(sink(), "upload");
  if (bytes) std::memcpy(dst, host_src, bytes);
}
template <class T>
void CpuBackend<T>::download_bytes(void* host_dst, const void* src, size_t bytes) {
  OpTimer timer(sink(), "download");
  if (bytes) std::memcpy(host_dst, src, bytes);
}
template <class T>
void CpuBackend<T>::zero_bytes(void* p, size_t bytes) {
  OpTimer timer(sink(), "zero");
  if (bytes) std::memset(p, 0, bytes);
}
template <class T>
void CpuBackend<T>::copy_bytes(void* dst, const void* src, size_t bytes) {
  OpTimer timer(sink(), "copy");
  if (bytes) std::memcpy(dst, src, bytes);
}

template <class T>
void CpuBackend<T>::embedding_forward(T* out, const int32_t* tokens, const T* wte, const T* wpe,
                                      int B, int Tn, int C, int pos_offset) {
  OpTimer timer(sink(), __func__);
  cpu::embedding_forward(out, tokens, wte, wpe, B, Tn, C, pos_offset);
}
template <class T>
void CpuBackend<T>::embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* tokens,
                                       int B, int Tn, int C, int pos_offset) {
  OpTimer timer(sink(), __func__);
  cpu::embedding_backward(dwte, dwpe, dout, tokens, B, Tn, C, pos_offset);
}

template <class T>
void CpuBackend<T>::layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* weight,
                                      const T* bias, int N, int C, T eps) {
  OpTimer timer(sink(), __func__);
  cpu::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C, eps);
}
template <class T>
void CpuBackend<T>::layernorm_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                       const T* weight, const T* mean, const T* rstd, int N,
                                       int C) {
  OpTimer timer(sink(), __func__);
  cpu::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
}
template <class T>
void CpuBackend<T>::rmsnorm_forward(T* out, T* rstd, const T* inp, const T* weight, int N, int C,
                                    T eps) {
  OpTimer timer(sink(), __func__);
  cpu::rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
}
template <class T>
void CpuBackend<T>::rmsnorm_backward(T* dinp, T* dweight, const T* dout, const T* inp,
                                     const T* weight, const T* rstd, int N, int C) {
  OpTimer timer(sink(), __func__);
  cpu::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
}

// the twin of the fused CUDA kernel is the two reference kernels in sequence
template <class T>
void CpuBackend<T>::residual_layernorm_forward(T* sum, T* out, T* mean, T* rstd, const T* a,
                                               const T* b, const T* weight, const T* bias, int N,
                                               int C, T eps) {
  OpTimer timer(sink(), __func__);
  cpu::residual_forward(sum, a, b, size_t(N) * size_t(C));
  cpu::layernorm_forward(out, mean, rstd, sum, weight, bias, N, C, eps);
}
template <class T>
void CpuBackend<T>::residual_rmsnorm_forward(T* sum, T* out, T* rstd, const T* a, const T* b,
                                             const T* weight, int N, int C, T eps) {
  OpTimer timer(sink(), __func__);
  cpu::residual_forward(sum, a, b, size_t(N) * size_t(C));
  cpu::rmsnorm_forward(out, rstd, sum, weight, N, C, eps);
}

template <class T>
void CpuBackend<T>::matmul_forward(T* out, const T* inp, const T* weight, const T* bias, int N,
                                   int IC, int OC) {
  OpTimer timer(sink(), __func__);
  cpu::matmul_forward(out, inp, weight, bias, N, IC, OC);
}
template <class T>
void CpuBackend<T>::matmul_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                    const T* weight, int N, int IC, int OC) {
  OpTimer timer(sink(), __func__);
  cpu::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
}

template <class T>
void CpuBackend<T>::attention_forward(T* out, T* lse, const T* qkv, int B, int Tn, int H, int KVH,
                                      int hd) {
  OpTimer timer(sink(), __func__);
  cpu::attention_forward(out, lse, qkv, B, Tn, H, KVH, hd);
}
template <class T>
void CpuBackend<T>::attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out,
                                       const T* lse, int B, int Tn, int H, int KVH, int hd) {
  OpTimer timer(sink(), __func__);
  cpu::attention_backward(dqkv, dout, qkv, out, lse, B, Tn, H, KVH, hd);
}
template <class T>
void CpuBackend<T>::rope_forward(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  OpTimer timer(sink(), __func__);
  cpu::rope_forward(qkv, B, Tn, H, KVH, hd, theta);
}
template <class T>
void CpuBackend<T>::rope_backward(T* dqkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  OpTimer timer(sink(), __func__);
  cpu::rope_backward(dqkv, B, Tn, H, KVH, hd, theta);
}
template <class T>
void CpuBackend<T>::rope_forward_at(T* qkv, int B, int Tn, int H, int KVH, int hd, double theta,
                                    int pos0) {
  OpTimer timer(sink(), __func__);
  cpu::rope_forward_at(qkv, B, Tn, H, KVH, hd, theta, pos0);
}
template <class T>
void CpuBackend<T>::attention_cached_forward(T* out, T* k_cache, T* v_cache, const T* qkv, int B,
                                             int Tq, int Tk, int cap, int H, int KVH, int hd) {
  OpTimer timer(sink(), __func__);
  cpu::attention_cached_forward(out, k_cache, v_cache, qkv, B, Tq, Tk, cap, H, KVH, hd);
}

template <class T>
void CpuBackend<T>::matmul_gelu_forward(T* out, T* pre, const T* inp, const T* weight,
                                        const T* bias, int N, int IC, int OC) {
  OpTimer timer(sink(), __func__);
  cpu::matmul_forward(pre, inp, weight, bias, N, IC, OC);
  cpu::gelu_forward(out, pre, size_t(N) * size_t(OC));
}
template <class T>
void CpuBackend<T>::matmul_gelu_backward(T* dpre, T* dweight, T* dbias, const T* dout,
                                         const T* inp, const T* pre, const T* weight, int N,
                                         int IC, int OC) {
  OpTimer timer(sink(), __func__);
  cpu::matmul_backward(dpre, dweight, dbias, dout, inp, weight, N, IC, OC);
  cpu::gelu_backward(dpre, dpre, pre, size_t(N) * size_t(IC));  // element-wise: in place is fine
}

template <class T>
void CpuBackend<T>::gelu_forward(T* out, const T* inp, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::gelu_forward(out, inp, n);
}
template <class T>
void CpuBackend<T>::gelu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::gelu_backward(dinp, dout, inp, n);
}
template <class T>
void CpuBackend<T>::relu_forward(T* out, const T* inp, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::relu_forward(out, inp, n);
}
template <class T>
void CpuBackend<T>::relu_backward(T* dinp, const T* dout, const T* inp, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::relu_backward(dinp, dout, inp, n);
}
template <class T>
void CpuBackend<T>::swiglu_forward(T* out, const T* inp, int N, int F) {
  OpTimer timer(sink(), __func__);
  cpu::swiglu_forward(out, inp, N, F);
}
template <class T>
void CpuBackend<T>::swiglu_backward(T* dinp, const T* dout, const T* inp, int N, int F) {
  OpTimer timer(sink(), __func__);
  cpu::swiglu_backward(dinp, dout, inp, N, F);
}

template <class T>
void CpuBackend<T>::residual_forward(T* out, const T* a, const T* b, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::residual_forward(out, a, b, n);
}
template <class T>
void CpuBackend<T>::accumulate(T* dst, const T* src, size_t n) {
  OpTimer timer(sink(), __func__);
  cpu::accumulate(dst, src, n);
}

template <class T>
void CpuBackend<T>::crossentropy_forward(T* losses, const T* logits, const int32_t* targets, int N,
                                         int V, int ld, int32_t ignore_index) {
  OpTimer timer(sink(), __func__);
  cpu::crossentropy_forward(losses, logits, targets, N, V, ld, ignore_index);
}
template <class T>
void CpuBackend<T>::crossentropy_forward_backward(T* logits, T* losses, const int32_t* targets,
                                                  int N, int V, int ld, int32_t ignore_index,
                                                  T dloss_scale) {
  OpTimer timer(sink(), __func__);
  cpu::crossentropy_forward_backward(logits, losses, targets, N, V, ld, ignore_index, dloss_scale);
}

template <class T>
void CpuBackend<T>::adamw_update(T* master, T* params, const T* grads, T* m, T* v, size_t n,
                                 const AdamWStep& step, size_t index_offset) {
  OpTimer timer(sink(), __func__);
  cpu::adamw_update(master, grads, m, v, n, step);
  if (params) narrow(params, master, n, step, index_offset);
}
template <class T>
void CpuBackend<T>::narrow(T* dst, const T* src, size_t n, const AdamWStep&, size_t) {
  if (n && dst != src) std::memcpy(dst, src, n * sizeof(T));
}

template <class T>
double CpuBackend<T>::sum_squares(const T* x, size_t n) {
  OpTimer timer(sink(), __func__);
  return cpu::sum_squares(x, n);
}

template struct CpuBackend<float>;
template struct CpuBackend<double>;

}  // namespace merino
