// Design: the bf16 backend reuses the fp32 reference kernels unchanged; only the storage type
// differs. Each op widens exactly the bf16 arrays it reads, runs the kernel on fp32 copies and
// rounds the arrays it writes back once. Ops that accumulate into a T buffer (norm backward's
// dinp, rope in place, accumulate) widen that buffer too, so `+=` means what it does on a GPU:
// read bf16, add in fp32, store bf16. The conversions cost memory traffic, not accuracy.
#include <cstring>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/rope.h"

namespace merino {
namespace {

// an fp32 copy of a bf16 array; null stays null
class Wide {
 public:
  Wide(const bf16* p, size_t n) : null_(p == nullptr) {
    if (null_) return;
    v_.resize(n);
    const int64_t len = int64_t(n);
#pragma omp parallel for schedule(static) if (len > (1 << 16))
    for (int64_t i = 0; i < len; ++i) v_[size_t(i)] = to_float(p[i]);
  }
  float* get() { return null_ ? nullptr : v_.data(); }

 private:
  bool null_;
  std::vector<float> v_;
};

// the fp32 results rounded into a bf16 array (round to nearest even)
void store(bf16* dst, const float* src, size_t n) {
  if (!dst) return;
  const int64_t len = int64_t(n);
#pragma omp parallel for schedule(static) if (len > (1 << 16))
  for (int64_t i = 0; i < len; ++i) dst[i] = bf16_round_nearest(src[i]);
}

size_t qkv_size(int B, int Tn, int H, int KVH, int hd) {
  return size_t(B) * size_t(Tn) * size_t(H + 2 * KVH) * size_t(hd);
}

}  // namespace

void CpuBackend<bf16>::embedding_forward(bf16* out, const int32_t* tokens, const bf16* wte,
                                         const bf16* wpe, int B, int Tn, int C, int pos_offset) {
  // the token table can be large, so only the rows the tokens select are widened: row r of
  // `rows` is token r's row, and the kernel looks them up through the identity token list
  const size_t N = size_t(B) * size_t(Tn);
  std::vector<float> rows(N * size_t(C));
  std::vector<int32_t> identity(N);
  for (size_t r = 0; r < N; ++r) {
    identity[r] = int32_t(r);
    const bf16* w = wte + size_t(tokens[r]) * size_t(C);
    for (int c = 0; c < C; ++c) rows[r * size_t(C) + size_t(c)] = to_float(w[c]);
  }
  // positions used: pos_offset .. pos_offset + Tn - 1; rows before them are never read
  Wide p(wpe, size_t(Tn + pos_offset) * size_t(C));
  std::vector<float> y(N * size_t(C));
  cpu::embedding_forward(y.data(), identity.data(), rows.data(), p.get(), B, Tn, C, pos_offset);
  store(out, y.data(), y.size());
}

void CpuBackend<bf16>::embedding_backward(float* dwte, float* dwpe, const bf16* dout,
                                          const int32_t* tokens, int B, int Tn, int C,
                                          int pos_offset) {
  Wide d(dout, size_t(B) * size_t(Tn) * size_t(C));
  cpu::embedding_backward(dwte, dwpe, d.get(), tokens, B, Tn, C, pos_offset);
}

void CpuBackend<bf16>::layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp,
                                         const bf16* weight, const bf16* bias, int N, int C,
                                         float eps) {
  const size_t n = size_t(N) * size_t(C);
  Wide x(inp, n), w(weight, size_t(C)), b(bias, size_t(C));
  std::vector<float> y(n);
  cpu::layernorm_forward(y.data(), mean, rstd, x.get(), w.get(), b.get(), N, C, eps);
  store(out, y.data(), n);
}

void CpuBackend<bf16>::layernorm_backward(bf16* dinp, float* dweight, float* dbias,
                                          const bf16* dout, const bf16* inp, const bf16* weight,
                                          const float* mean, const float* rstd, int N, int C) {
  const size_t n = size_t(N) * size_t(C);
  Wide di(dinp, n), d(dout, n), x(inp, n), w(weight, size_t(C));
  cpu::layernorm_backward(di.get(), dweight, dbias, d.get(), x.get(), w.get(), mean, rstd, N, C);
  store(dinp, di.get(), n);
}

void CpuBackend<bf16>::rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, const bf16* weight,
                                       int N, int C, float eps) {
  const size_t n = size_t(N) * size_t(C);
  Wide x(inp, n), w(weight, size_t(C));
  std::vector<float> y(n);
  cpu::rmsnorm_forward(y.data(), rstd, x.get(), w.get(), N, C, eps);
  store(out, y.data(), n);
}

void CpuBackend<bf16>::rmsnorm_backward(bf16* dinp, float* dweight, const bf16* dout,
                                        const bf16* inp, const bf16* weight, const float* rstd,
                                        int N, int C) {
  const size_t n = size_t(N) * size_t(C);
  Wide di(dinp, n), d(dout, n), x(inp, n), w(weight, size_t(C));
  cpu::rmsnorm_backward(di.get(), dweight, d.get(), x.get(), w.get(), rstd, N, C);
  store(dinp, di.get(), n);
}

void CpuBackend<bf16>::matmul_forward(bf16* out, const bf16* inp, const bf16* weight,
                                      const bf16* bias, int N, int IC, int OC) {
  Wide x(inp, size_t(N) * size_t(IC)), w(weight, size_t(OC) * size_t(IC)), b(bias, size_t(OC));
  std::vector<float> y(size_t(N) * size_t(OC));
  cpu::matmul_forward(y.data(), x.get(), w.get(), b.get(), N, IC, OC);
  store(out, y.data(), y.size());
}

void CpuBackend<bf16>::matmul_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout,
                                       const bf16* inp, const bf16* weight, int N, int IC, int OC) {
  Wide d(dout, size_t(N) * size_t(OC)), x(inp, size_t(N) * size_t(IC));
  Wide w(dinp ? weight : nullptr, size_t(OC) * size_t(IC));  // only dinp needs the weight
  std::vector<float> di(dinp ? size_t(N) * size_t(IC) : 0);
  cpu::matmul_backward(dinp ? di.data() : nullptr, dweight, dbias, d.get(), x.get(), w.get(), N, IC,
                       OC);
  store(dinp, di.data(), di.size());
}

void CpuBackend<bf16>::attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int Tn,
                                         int H, int KVH, int hd) {
  Wide q(qkv, qkv_size(B, Tn, H, KVH, hd));
  std::vector<float> y(size_t(B) * size_t(Tn) * size_t(H) * size_t(hd));
  cpu::attention_forward(y.data(), lse, q.get(), B, Tn, H, KVH, hd);
  store(out, y.data(), y.size());
}

void CpuBackend<bf16>::attention_backward(bf16* dqkv, const bf16* dout, const bf16* qkv,
                                          const bf16* out, const float* lse, int B, int Tn, int H,
                                          int KVH, int hd) {
  const size_t nq = qkv_size(B, Tn, H, KVH, hd), no = size_t(B) * size_t(Tn) * size_t(H) * size_t(hd);
  Wide d(dout, no), q(qkv, nq), o(out, no);
  std::vector<float> dq(nq);
  cpu::attention_backward(dq.data(), d.get(), q.get(), o.get(), lse, B, Tn, H, KVH, hd);
  store(dqkv, dq.data(), nq);
}

void CpuBackend<bf16>::rope_forward(bf16* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  const size_t n = qkv_size(B, Tn, H, KVH, hd);
  Wide q(qkv, n);
  cpu::rope_forward(q.get(), B, Tn, H, KVH, hd, theta);
  store(qkv, q.get(), n);
}

void CpuBackend<bf16>::rope_backward(bf16* dqkv, int B, int Tn, int H, int KVH, int hd,
                                     double theta) {
  const size_t n = qkv_size(B, Tn, H, KVH, hd);
  Wide d(dqkv, n);
  cpu::rope_backward(d.get(), B, Tn, H, KVH, hd, theta);
  store(dqkv, d.get(), n);
}

void CpuBackend<bf16>::gelu_forward(bf16* out, const bf16* inp, size_t n) {
  Wide x(inp, n);
  std::vector<float> y(n);
  cpu::gelu_forward(y.data(), x.get(), n);
  store(out, y.data(), n);
}

void CpuBackend<bf16>::gelu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) {
  Wide d(dout, n), x(inp, n);
  std::vector<float> di(n);
  cpu::gelu_backward(di.data(), d.get(), x.get(), n);
  store(dinp, di.data(), n);
}

void CpuBackend<bf16>::relu_forward(bf16* out, const bf16* inp, size_t n) {
  Wide x(inp, n);
  std::vector<float> y(n);
  cpu::relu_forward(y.data(), x.get(), n);
  store(out, y.data(), n);
}

void CpuBackend<bf16>::relu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) {
  Wide d(dout, n), x(inp, n);
  std::vector<float> di(n);
  cpu::relu_backward(di.data(), d.get(), x.get(), n);
  store(dinp, di.data(), n);
}

void CpuBackend<bf16>::swiglu_forward(bf16* out, const bf16* inp, int N, int F) {
  const size_t n = size_t(N) * size_t(F);
  Wide x(inp, 2 * n);
  std::vector<float> y(n);
  cpu::swiglu_forward(y.data(), x.get(), N, F);
  store(out, y.data(), n);
}

void CpuBackend<bf16>::swiglu_backward(bf16* dinp, const bf16* dout, const bf16* inp, int N, int F) {
  const size_t n = size_t(N) * size_t(F);
  Wide d(dout, n), x(inp, 2 * n);
  std::vector<float> di(2 * n);
  cpu::swiglu_backward(di.data(), d.get(), x.get(), N, F);
  store(dinp, di.data(), 2 * n);
}

void CpuBackend<bf16>::residual_forward(bf16* out, const bf16* a, const bf16* b, size_t n) {
  Wide x(a, n), y(b, n);
  std::vector<float> r(n);
  cpu::residual_forward(r.data(), x.get(), y.get(), n);
  store(out, r.data(), n);
}

void CpuBackend<bf16>::accumulate(bf16* dst, const bf16* src, size_t n) {
  Wide d(dst, n), s(src, n);
  cpu::accumulate(d.get(), s.get(), n);
  store(dst, d.get(), n);
}

void CpuBackend<bf16>::crossentropy_forward(float* losses, const bf16* logits,
                                            const int32_t* targets, int N, int V,
                                            int32_t ignore_index) {
  Wide l(logits, size_t(N) * size_t(V));
  cpu::crossentropy_forward(losses, l.get(), targets, N, V, ignore_index);
}

void CpuBackend<bf16>::crossentropy_forward_backward(bf16* logits, float* losses,
                                                     const int32_t* targets, int N, int V,
                                                     int32_t ignore_index, float dloss_scale) {
  const size_t n = size_t(N) * size_t(V);
  Wide l(logits, n);
  cpu::crossentropy_forward_backward(l.get(), losses, targets, N, V, ignore_index, dloss_scale);
  store(logits, l.get(), n);
}

void CpuBackend<bf16>::adamw_update(float* master, bf16* params, const float* grads, float* m,
                                    float* v, size_t n, const AdamWStep& step,
                                    size_t index_offset) {
  cpu::adamw_update(master, grads, m, v, n, step);
  if (params) narrow(params, master, n, step, index_offset);
}

void CpuBackend<bf16>::narrow(bf16* dst, const float* src, size_t n, const AdamWStep& step,
                              size_t index_offset) {
  const uint64_t key = stochastic_round_key(step.round_seed, step.step);
  const int64_t len = int64_t(n);
#pragma omp parallel for schedule(static) if (len > (1 << 16))
  for (int64_t i = 0; i < len; ++i)
    dst[i] = bf16{bf16_stochastic_round_bits(src[i], key, uint64_t(index_offset) + uint64_t(i))};
}

double CpuBackend<bf16>::sum_squares(const float* x, size_t n) { return cpu::sum_squares(x, n); }

}  // namespace merino
