// Design: the bf16 backend reuses the fp32 reference kernels unchanged; only the storage type
// differs. Each op widens exactly the bf16 arrays it reads, runs the kernel on fp32 copies and
// rounds the arrays it writes back once. Ops that accumulate into a T buffer (norm backward's
// dinp, rope in place, accumulate) widen that buffer too, so `+=` means what it does on a GPU:
// read bf16, add in fp32, store bf16. The conversions cost memory traffic, not accuracy.
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_cached.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/crossentropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/rope.h"

namespace merino {
namespace {

// fp32 buffers for one op, taken from the backend's pool in order and handed back when the op
// ends. Buffers only grow, so after the first step no op allocates or page-faults (the logits
// of a GPT-2 vocabulary are ~200 MB per 1,024 tokens in fp32).
class Frame {
 public:
  explicit Frame(std::vector<std::vector<float>>& pool) : pool_(pool) {}
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;

  // n floats, contents unspecified
  float* out(size_t n) {
    if (next_ == pool_.size()) pool_.emplace_back();
    std::vector<float>& v = pool_[next_++];
    if (v.size() < n) v.resize(n);
    return v.data();
  }
  // an fp32 copy of a bf16 array; null stays null
  float* wide(const bf16* p, size_t n) {
    if (!p) return nullptr;
    float* w = out(n);
    const int64_t len = int64_t(n);
#pragma omp parallel for schedule(static) if (len > (1 << 16))
    for (int64_t i = 0; i < len; ++i) w[i] = to_float(p[i]);
    return w;
  }

 private:
  std::vector<std::vector<float>>& pool_;
  size_t next_ = 0;
};

// inp W^T + bias in fp32 from widened bf16 operands, in a buffer of the frame
float* wide_product(Frame& f, const bf16* inp, const bf16* weight, const bf16* bias, int N, int IC,
                    int OC) {
  float* y = f.out(size_t(N) * size_t(OC));
  cpu::matmul_forward(y, f.wide(inp, size_t(N) * size_t(IC)), f.wide(weight, size_t(OC) * size_t(IC)),
                      f.wide(bias, size_t(OC)), N, IC, OC);
  return y;
}

// the fp32 results rounded into a bf16 array (round to nearest even)
void store(bf16* dst, const float* src, size_t n) {
  if (!dst) return;
  const int64_t len = int64_t(n);
#pragma omp parallel for schedule(static) if (len > (1 << 16))
  for (int64_t i = 0; i < len; ++i) dst[i] = bf16_round_nearest(src[i]);
}

// out = forward(inp) over n elements in fp32, rounded to bf16 once
void wide_pointwise(std::vector<std::vector<float>>& pool, bf16* out, const bf16* inp, size_t n,
                    void (*forward)(float*, const float*, size_t)) {
  Frame f(pool);
  float* y = f.out(n);
  forward(y, f.wide(inp, n), n);
  store(out, y, n);
}

// dinp = backward(dout, inp) over n elements in fp32, rounded to bf16 once
void wide_pointwise_backward(std::vector<std::vector<float>>& pool, bf16* dinp, const bf16* dout,
                             const bf16* inp, size_t n,
                             void (*backward)(float*, const float*, const float*, size_t)) {
  Frame f(pool);
  float* di = f.out(n);
  backward(di, f.wide(dout, n), f.wide(inp, n), n);
  store(dinp, di, n);
}

size_t qkv_size(int B, int Tn, int H, int KVH, int hd) {
  return size_t(B) * size_t(Tn) * size_t(H + 2 * KVH) * size_t(hd);
}

}  // namespace

void CpuBackend<bf16>::embedding_forward(bf16* out, const int32_t* tokens, const bf16* wte,
                                         const bf16* wpe, int B, int Tn, int C, int pos_offset) {
  // the token table can be large, so only the rows the tokens select are widened: row r of
  // `rows` is token r's row, and the kernel looks them up through the identity token list
  Frame f(pool_);
  const size_t N = size_t(B) * size_t(Tn);
  float* rows = f.out(N * size_t(C));
  std::vector<int32_t> identity(N);
  for (size_t r = 0; r < N; ++r) {
    identity[r] = int32_t(r);
    const bf16* w = wte + size_t(tokens[r]) * size_t(C);
    for (int c = 0; c < C; ++c) rows[r * size_t(C) + size_t(c)] = to_float(w[c]);
  }
  // positions used: pos_offset .. pos_offset + Tn - 1; rows before them are never read
  const float* p = f.wide(wpe, size_t(Tn + pos_offset) * size_t(C));
  float* y = f.out(N * size_t(C));
  cpu::embedding_forward(y, identity.data(), rows, p, B, Tn, C, pos_offset);
  store(out, y, N * size_t(C));
}

void CpuBackend<bf16>::embedding_backward(float* dwte, float* dwpe, const bf16* dout,
                                          const int32_t* tokens, int B, int Tn, int C,
                                          int pos_offset) {
  Frame f(pool_);
  const float* d = f.wide(dout, size_t(B) * size_t(Tn) * size_t(C));
  cpu::embedding_backward(dwte, dwpe, d, tokens, B, Tn, C, pos_offset);
}

void CpuBackend<bf16>::layernorm_forward(bf16* out, float* mean, float* rstd, const bf16* inp,
                                         const bf16* weight, const bf16* bias, int N, int C,
                                         float eps) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(C);
  float* y = f.out(n);
  cpu::layernorm_forward(y, mean, rstd, f.wide(inp, n), f.wide(weight, size_t(C)),
                         f.wide(bias, size_t(C)), N, C, eps);
  store(out, y, n);
}

void CpuBackend<bf16>::layernorm_backward(bf16* dinp, float* dweight, float* dbias,
                                          const bf16* dout, const bf16* inp, const bf16* weight,
                                          const float* mean, const float* rstd, int N, int C) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(C);
  float* di = f.wide(dinp, n);
  cpu::layernorm_backward(di, dweight, dbias, f.wide(dout, n), f.wide(inp, n),
                          f.wide(weight, size_t(C)), mean, rstd, N, C);
  store(dinp, di, n);
}

void CpuBackend<bf16>::rmsnorm_forward(bf16* out, float* rstd, const bf16* inp, const bf16* weight,
                                       int N, int C, float eps) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(C);
  float* y = f.out(n);
  cpu::rmsnorm_forward(y, rstd, f.wide(inp, n), f.wide(weight, size_t(C)), N, C, eps);
  store(out, y, n);
}

void CpuBackend<bf16>::rmsnorm_backward(bf16* dinp, float* dweight, const bf16* dout,
                                        const bf16* inp, const bf16* weight, const float* rstd,
                                        int N, int C) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(C);
  float* di = f.wide(dinp, n);
  cpu::rmsnorm_backward(di, dweight, f.wide(dout, n), f.wide(inp, n), f.wide(weight, size_t(C)),
                        rstd, N, C);
  store(dinp, di, n);
}

// the sum is rounded to bf16 before it is normalised: the norm sees what is stored, as the
// unfused residual_forward + layernorm_forward did
void CpuBackend<bf16>::residual_layernorm_forward(bf16* sum, bf16* out, float* mean, float* rstd,
                                                  const bf16* a, const bf16* b, const bf16* weight,
                                                  const bf16* bias, int N, int C, float eps) {
  residual_forward(sum, a, b, size_t(N) * size_t(C));
  layernorm_forward(out, mean, rstd, sum, weight, bias, N, C, eps);
}

void CpuBackend<bf16>::residual_rmsnorm_forward(bf16* sum, bf16* out, float* rstd, const bf16* a,
                                                const bf16* b, const bf16* weight, int N, int C,
                                                float eps) {
  residual_forward(sum, a, b, size_t(N) * size_t(C));
  rmsnorm_forward(out, rstd, sum, weight, N, C, eps);
}

void CpuBackend<bf16>::matmul_forward(bf16* out, const bf16* inp, const bf16* weight,
                                      const bf16* bias, int N, int IC, int OC) {
  Frame f(pool_);
  store(out, wide_product(f, inp, weight, bias, N, IC, OC), size_t(N) * size_t(OC));
}

void CpuBackend<bf16>::matmul_backward(bf16* dinp, float* dweight, float* dbias, const bf16* dout,
                                       const bf16* inp, const bf16* weight, int N, int IC, int OC) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(IC);
  float* di = dinp ? f.out(n) : nullptr;
  // only dinp needs the weight
  cpu::matmul_backward(di, dweight, dbias, f.wide(dout, size_t(N) * size_t(OC)), f.wide(inp, n),
                       f.wide(dinp ? weight : nullptr, size_t(OC) * size_t(IC)), N, IC, OC);
  store(dinp, di, n);
}

void CpuBackend<bf16>::attention_forward(bf16* out, float* lse, const bf16* qkv, int B, int Tn,
                                         int H, int KVH, int hd) {
  Frame f(pool_);
  const size_t n = size_t(B) * size_t(Tn) * size_t(H) * size_t(hd);
  float* y = f.out(n);
  cpu::attention_forward(y, lse, f.wide(qkv, qkv_size(B, Tn, H, KVH, hd)), B, Tn, H, KVH, hd);
  store(out, y, n);
}

void CpuBackend<bf16>::attention_backward(bf16* dqkv, const bf16* dout, const bf16* qkv,
                                          const bf16* out, const float* lse, int B, int Tn, int H,
                                          int KVH, int hd) {
  Frame f(pool_);
  const size_t nq = qkv_size(B, Tn, H, KVH, hd), no = size_t(B) * size_t(Tn) * size_t(H) * size_t(hd);
  float* dq = f.out(nq);
  cpu::attention_backward(dq, f.wide(dout, no), f.wide(qkv, nq), f.wide(out, no), lse, B, Tn, H, KVH,
                          hd);
  store(dqkv, dq, nq);
}

void CpuBackend<bf16>::rope_forward(bf16* qkv, int B, int Tn, int H, int KVH, int hd, double theta) {
  Frame f(pool_);
  const size_t n = qkv_size(B, Tn, H, KVH, hd);
  float* q = f.wide(qkv, n);
  cpu::rope_forward(q, B, Tn, H, KVH, hd, theta);
  store(qkv, q, n);
}

void CpuBackend<bf16>::rope_backward(bf16* dqkv, int B, int Tn, int H, int KVH, int hd,
                                     double theta) {
  Frame f(pool_);
  const size_t n = qkv_size(B, Tn, H, KVH, hd);
  float* d = f.wide(dqkv, n);
  cpu::rope_backward(d, B, Tn, H, KVH, hd, theta);
  store(dqkv, d, n);
}

void CpuBackend<bf16>::rope_forward_at(bf16* qkv, int B, int Tn, int H, int KVH, int hd,
                                       double theta, int pos0) {
  Frame f(pool_);
  const size_t n = qkv_size(B, Tn, H, KVH, hd);
  float* q = f.wide(qkv, n);
  cpu::rope_forward_at(q, B, Tn, H, KVH, hd, theta, pos0);
  store(qkv, q, n);
}

// The new k/v rows are bf16 values already, so the fp32 cache the kernel appends them to rounds
// back to the same bits: storing the whole cache again changes only the rows it appended.
void CpuBackend<bf16>::attention_cached_forward(bf16* out, bf16* k_cache, bf16* v_cache,
                                                const bf16* qkv, int B, int Tq, int Tk, int cap,
                                                int H, int KVH, int hd) {
  Frame f(pool_);
  const size_t nc = size_t(B) * size_t(cap) * size_t(KVH) * size_t(hd);
  const size_t no = size_t(B) * size_t(Tq) * size_t(H) * size_t(hd);
  float* k = f.wide(k_cache, nc);
  float* v = f.wide(v_cache, nc);
  float* y = f.out(no);
  cpu::attention_cached_forward(y, k, v, f.wide(qkv, qkv_size(B, Tq, H, KVH, hd)), B, Tq, Tk, cap,
                                H, KVH, hd);
  store(k_cache, k, nc);
  store(v_cache, v, nc);
  store(out, y, no);
}

// gelu of the fp32 product, as a GEMM epilogue computes it; pre and out each rounded once
void CpuBackend<bf16>::matmul_gelu_forward(bf16* out, bf16* pre, const bf16* inp,
                                           const bf16* weight, const bf16* bias, int N, int IC,
                                           int OC) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(OC);
  const float* y = wide_product(f, inp, weight, bias, N, IC, OC);
  store(pre, y, n);
  float* g = f.out(n);
  cpu::gelu_forward(g, y, n);
  store(out, g, n);
}

// dout W in fp32, times gelu'(pre), rounded to bf16 once: what the GPU's DGELU epilogue stores
void CpuBackend<bf16>::matmul_gelu_backward(bf16* dpre, float* dweight, float* dbias,
                                            const bf16* dout, const bf16* inp, const bf16* pre,
                                            const bf16* weight, int N, int IC, int OC) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(IC);
  float* di = f.out(n);
  cpu::matmul_backward(di, dweight, dbias, f.wide(dout, size_t(N) * size_t(OC)), f.wide(inp, n),
                       f.wide(weight, size_t(OC) * size_t(IC)), N, IC, OC);
  cpu::gelu_backward(di, di, f.wide(pre, n), n);
  store(dpre, di, n);
}

void CpuBackend<bf16>::gelu_forward(bf16* out, const bf16* inp, size_t n) {
  wide_pointwise(pool_, out, inp, n, cpu::gelu_forward<float>);
}

void CpuBackend<bf16>::gelu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) {
  wide_pointwise_backward(pool_, dinp, dout, inp, n, cpu::gelu_backward<float>);
}

void CpuBackend<bf16>::relu_forward(bf16* out, const bf16* inp, size_t n) {
  wide_pointwise(pool_, out, inp, n, cpu::relu_forward<float>);
}

void CpuBackend<bf16>::relu_backward(bf16* dinp, const bf16* dout, const bf16* inp, size_t n) {
  wide_pointwise_backward(pool_, dinp, dout, inp, n, cpu::relu_backward<float>);
}

void CpuBackend<bf16>::swiglu_forward(bf16* out, const bf16* inp, int N, int F) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(F);
  float* y = f.out(n);
  cpu::swiglu_forward(y, f.wide(inp, 2 * n), N, F);
  store(out, y, n);
}

void CpuBackend<bf16>::swiglu_backward(bf16* dinp, const bf16* dout, const bf16* inp, int N, int F) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(F);
  float* di = f.out(2 * n);
  cpu::swiglu_backward(di, f.wide(dout, n), f.wide(inp, 2 * n), N, F);
  store(dinp, di, 2 * n);
}

void CpuBackend<bf16>::residual_forward(bf16* out, const bf16* a, const bf16* b, size_t n) {
  Frame f(pool_);
  float* r = f.out(n);
  cpu::residual_forward(r, f.wide(a, n), f.wide(b, n), n);
  store(out, r, n);
}

void CpuBackend<bf16>::accumulate(bf16* dst, const bf16* src, size_t n) {
  Frame f(pool_);
  float* d = f.wide(dst, n);
  cpu::accumulate(d, f.wide(src, n), n);
  store(dst, d, n);
}

void CpuBackend<bf16>::crossentropy_forward(float* losses, const bf16* logits,
                                            const int32_t* targets, int N, int V, int ld,
                                            int32_t ignore_index) {
  Frame f(pool_);
  cpu::crossentropy_forward(losses, f.wide(logits, size_t(N) * size_t(ld)), targets, N, V, ld,
                            ignore_index);
}

void CpuBackend<bf16>::crossentropy_forward_backward(bf16* logits, float* losses,
                                                     const int32_t* targets, int N, int V, int ld,
                                                     int32_t ignore_index, float dloss_scale) {
  Frame f(pool_);
  const size_t n = size_t(N) * size_t(ld);
  float* l = f.wide(logits, n);
  cpu::crossentropy_forward_backward(l, losses, targets, N, V, ld, ignore_index, dloss_scale);
  store(logits, l, n);
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
