// Linear layer forward / backward through cuBLASLt; CPU twin: kernels/cpu/matmul.cpp.
//
// Design (the cuBLASLt usage of llm.c's matmul_cublaslt, extended with a plan cache, alignment
// handling and a deterministic bias gradient; written from scratch for this project):
// * Row-major [rows, cols] is column-major [cols, rows], so every product is computed
//   transposed, with no copies: out^T[OC, N] = W[OC, IC] inp^T[IC, N] is a GEMM with m = OC,
//   n = N, k = IC whose A operand, the weight (column-major [IC, OC]), is used transposed;
//   dinp^T[IC, N] = W^T dout^T (m = IC, n = N, k = OC, nothing transposed); dweight^T[IC, OC] =
//   inp^T dout (m = IC, n = OC, k = N, B = dout transposed).
// * Forward fuses the bias (CUBLASLT_EPILOGUE_BIAS) and, in forward_gelu, bias + GELU
//   (CUBLASLT_EPILOGUE_GELU_AUX_BIAS), which also stores the pre-activation that gelu_backward
//   needs: the GEMM writes both [N, 4C] MLP tensors, saving the separate GELU kernel's launch
//   and its full read of the pre-activation. cuBLASLt needs the aux leading dimension to be a
//   multiple of 8 and may have no fused kernel for some type / alignment (fp32 without TF32,
//   say); the plan then records "not fused" and forward runs a plain GEMM followed by
//   add_bias_kernel and gelu_forward (activation.cu): same results up to rounding.
// * backward_gelu fuses the GELU's backward into the input-gradient GEMM of the layer after it
//   (CUBLASLT_EPILOGUE_DGELU, aux = the pre-activation forward_gelu stored, leading dimension m =
//   IC, the same [IC, N] column-major layout GELU_AUX wrote): dpre = (dout W) * gelu'(pre) is
//   stored once, in T, instead of dout W being written, read back with pre and rewritten by
//   gelu_backward. Same aux rule as forward (m % 8 == 0), same fallback (plain GEMM, then
//   gelu_backward in place). DGELU_BGRAD (the previous layer's bias gradient in the same
//   epilogue) is not used, for the reasons dbias below avoids BGRADB.
// * Writes vs accumulates follow the CPU twin: out and dinp are written (beta = 0); dweight
//   accumulates in the GEMM itself (beta = 1: C = D = dweight, no temporary); dbias accumulates.
// * dbias is a separate deterministic column-sum kernel, not CUBLASLT_EPILOGUE_BGRADB: BGRADB
//   overwrites its output (we need +=, which would cost a temporary and an add kernel), is
//   offered only for some type / epilogue combinations, and its reduction order is not
//   documented. The N rows are split into 64-row chunks (fewer, longer ones if the workspace
//   cannot hold the partials): block (x, y) sums 32 column vectors (16 bytes each when aligned)
//   over chunk y, each of its 8 row-threads summing every 8th row in order and the 8 partials
//   added in order through shared memory, into an fp32 [chunks, OC] matrix in the workspace; the
//   same kernel then sums that matrix's columns (a single chunk, one column per thread: OC / 32
//   blocks) into dbias. The chunking
//   depends only on N, OC and the workspace size and there are no atomics, so dbias is bitwise
//   reproducible. N <= 64 needs only the one direct pass.
// * Plans: a cuBLASLt descriptor set, layouts and the heuristic's best algorithm per (m, n, k,
//   transposes, input and output types, epilogue, TF32, alignment of every pointer), in an
//   unordered_map. The heuristic is told each operand's real alignment
//   (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*, capped at 16 bytes; it reads the bias and aux
//   alignment off the pointers themselves), so odd IC / OC, N = 1 and pointers into the middle
//   of a buffer all get an algorithm that is valid for them; cudaMalloc'd buffers with dims
//   that are multiples of 8 get the 16-byte tensor-core kernels. Per call only the bias / aux
//   pointers are re-set on the cached descriptor (host-side), so a steady-state call is one
//   cublasLtMatmul.
// * bf16: A, B, C, D bf16, fp32 accumulation (CUBLAS_COMPUTE_32F). Split-K is restricted to
//   fp32 partials (CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE): the in-place and output-type schemes
//   would add partial sums in bf16 and lose most of the fp32 accumulation's precision.
//   fp32: CUBLAS_COMPUTE_32F (true fp32, matches the CPU backend) unless TF32 is allowed.
// * Mixed precision (bf16 T, fp32 gradients G): the dweight GEMM takes A, B in bf16 and C, D in
//   fp32 with CUBLAS_COMPUTE_32F and a float scale, one of cuBLASLt's supported combinations
//   (cuBLAS docs, cublasLtMatmul's table of data types), so the fp32 gradient accumulates with
//   beta = 1 and is never rounded to bf16; any split-K scheme then sums in fp32. dbias's column
//   sums read bf16 and write fp32.
#include <cublasLt.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/cuda/matmul.cuh"
#include "kernels/cuda/vec.cuh"

namespace merino::cuda {
namespace {

void lt_check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("merino::cuda::Matmul: ") + call + " returned " +
                             cublasLtGetStatusName(status) + ": " +
                             cublasLtGetStatusString(status));
  }
}

template <class T>
struct TypeInfo;
template <>
struct TypeInfo<float> {
  static constexpr cudaDataType_t kCuda = CUDA_R_32F;
  static constexpr const char* kName = "fp32";
};
template <>
struct TypeInfo<__nv_bfloat16> {
  static constexpr cudaDataType_t kCuda = CUDA_R_16BF;
  static constexpr const char* kName = "bf16";
};

// kDGelu: D = (A B) * gelu'(aux), aux the pre-activation forward_gelu stored
enum class Epilogue : uint8_t { kNone, kBias, kGelu, kGeluBias, kDGelu };

cublasLtEpilogue_t lt_epilogue(Epilogue e) {
  switch (e) {
    case Epilogue::kBias:
      return CUBLASLT_EPILOGUE_BIAS;
    case Epilogue::kGelu:
      return CUBLASLT_EPILOGUE_GELU_AUX;
    case Epilogue::kGeluBias:
      return CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
    case Epilogue::kDGelu:
      return CUBLASLT_EPILOGUE_DGELU;
    case Epilogue::kNone:
      break;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

bool has_bias(Epilogue e) { return e == Epilogue::kBias || e == Epilogue::kGeluBias; }
// the epilogues with an aux matrix (written by GELU_AUX, read by DGELU)
bool has_gelu(Epilogue e) {
  return e == Epilogue::kGelu || e == Epilogue::kGeluBias || e == Epilogue::kDGelu;
}

// log2 of the largest power of two (at most 16) that divides the address
uint8_t align_log2(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint8_t l = 0;
  while (l < 4 && (a >> l) % 2 == 0) ++l;
  return l;
}

// One GEMM D[m, n] = alpha op(A) op(B) + beta D, column-major, as described at the top.
struct Gemm {
  cublasOperation_t transa, transb;
  int m, n, k;
  const void* A;
  const void* B;
  void* D;
  float beta;
  Epilogue epilogue;
  const void* bias;  // epilogue bias [m]
  void* aux;         // GELU pre-activation, [m, n] with leading dimension m (read by kDGelu)
};

struct PlanKey {
  int32_t m, n, k;
  uint8_t transa, transb, dtype, otype, epilogue, tf32;
  uint8_t align_a, align_b, align_d, align_bias, align_aux;
  bool operator==(const PlanKey& o) const {
    return m == o.m && n == o.n && k == o.k && transa == o.transa && transb == o.transb &&
           dtype == o.dtype && otype == o.otype && epilogue == o.epilogue && tf32 == o.tf32 &&
           align_a == o.align_a && align_b == o.align_b && align_d == o.align_d &&
           align_bias == o.align_bias && align_aux == o.align_aux;
  }
};

struct PlanKeyHash {
  size_t operator()(const PlanKey& k) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
    const auto mix = [&h](uint64_t v) {
      h ^= v;
      h *= 1099511628211ull;
    };
    mix(static_cast<uint32_t>(k.m));
    mix(static_cast<uint32_t>(k.n));
    mix(static_cast<uint32_t>(k.k));
    mix(uint64_t(k.transa) | uint64_t(k.transb) << 8 | uint64_t(k.dtype) << 16 |
        uint64_t(k.epilogue) << 24 | uint64_t(k.tf32) << 32 | uint64_t(k.otype) << 40);
    mix(uint64_t(k.align_a) | uint64_t(k.align_b) << 8 | uint64_t(k.align_d) << 16 |
        uint64_t(k.align_bias) << 24 | uint64_t(k.align_aux) << 32);
    return static_cast<size_t>(h);
  }
};

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;  // d is also C's layout
  cublasLtMatmulAlgo_t algo{};
  bool fused = true;  // false: no fused algorithm; the epilogue runs as separate kernels
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

class Preference {
 public:
  Preference() { lt_check(cublasLtMatmulPreferenceCreate(&p_), "cublasLtMatmulPreferenceCreate"); }
  Preference(const Preference&) = delete;
  Preference& operator=(const Preference&) = delete;
  ~Preference() { cublasLtMatmulPreferenceDestroy(p_); }
  template <class V>
  void set(cublasLtMatmulPreferenceAttributes_t attr, V value) {
    lt_check(cublasLtMatmulPreferenceSetAttribute(p_, attr, &value, sizeof(value)),
             "cublasLtMatmulPreferenceSetAttribute");
  }
  cublasLtMatmulPreference_t get() const { return p_; }

 private:
  cublasLtMatmulPreference_t p_ = nullptr;
};

template <class V>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, V value) {
  lt_check(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(value)),
           "cublasLtMatmulDescSetAttribute");
}

// ---- bias gradient: deterministic column sums, dbias[c] += sum_r dout[r, c] ----

constexpr int kSumColThreads = 32;  // threadIdx.x: one column vector each
constexpr int kSumRowThreads = 8;   // threadIdx.y: every 8th row of the chunk each
constexpr int kRowsPerChunk = 64;   // rows per partial sum (fewer chunks if the workspace is small)
constexpr int kMaxChunks = 1024;

// Block (x, y) sums columns [x * 32 V, (x + 1) * 32 V) of `in` over rows [y * rows, (y + 1) *
// rows): each row-thread sums every 8th row in order, then the 8 partial sums are added in order.
// DIRECT (launched with a single chunk, gridDim.y = 1): the sums go into dbias (+=); else into
// partial[y][OC]. With V > 1, OC is a multiple of
// V, so a vector that starts inside a row ends inside it.
template <class Tin, class Tout, int V, bool DIRECT>
__global__ void __launch_bounds__(kSumColThreads* kSumRowThreads)
    column_sum_kernel(float* partial, Tout* dbias, const Tin* in, int N, int OC, int rows) {
  __shared__ float smem[kSumRowThreads][V][kSumColThreads];
  const int c0 = (blockIdx.x * kSumColThreads + threadIdx.x) * V;
  const int r0 = blockIdx.y * rows, r1 = min(N, r0 + rows);
  float acc[V] = {};
  if (c0 < OC) {
#pragma unroll 4
    for (int r = r0 + threadIdx.y; r < r1; r += kSumRowThreads) {
      float x[V];
      vec::load<Tin, V>(in + static_cast<int64_t>(r) * OC + c0, x);
#pragma unroll
      for (int k = 0; k < V; ++k) acc[k] += x[k];
    }
  }
#pragma unroll
  for (int k = 0; k < V; ++k) smem[threadIdx.y][k][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y != 0 || c0 >= OC) return;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    float s = smem[0][k][threadIdx.x];
    for (int y = 1; y < kSumRowThreads; ++y) s += smem[y][k][threadIdx.x];
    if constexpr (DIRECT) {
      dbias[c0 + k] = vec::from_float<Tout>(vec::to_float(dbias[c0 + k]) + s);
    } else {
      partial[static_cast<int64_t>(blockIdx.y) * OC + c0 + k] = s;
    }
  }
}

// One pass of column sums of in[N, OC] (rows per chunk `rows`), V columns per thread.
template <class Tin, class Tout, int V, bool DIRECT>
void launch_column_pass(float* partial, Tout* dbias, const Tin* in, int N, int OC, int rows,
                        cudaStream_t stream) {
  const int col_vectors = (OC + V - 1) / V;
  const dim3 grid((col_vectors + kSumColThreads - 1) / kSumColThreads, (N + rows - 1) / rows);
  column_sum_kernel<Tin, Tout, V, DIRECT>
      <<<grid, dim3(kSumColThreads, kSumRowThreads), 0, stream>>>(partial, dbias, in, N, OC, rows);
  CUDA_CHECK(cudaGetLastError());
}

// dbias += column sums of dout[N, OC]: partial sums over fixed row chunks into the workspace,
// then the chunk partials (a [chunks, OC] fp32 matrix) summed by the same kernel into dbias.
// The chunking depends only on N, OC and the workspace size.
template <class T, class G>
void column_sum(G* dbias, const T* dout, int N, int OC, float* workspace, size_t workspace_bytes,
                cudaStream_t stream) {
  const size_t fit = workspace_bytes / (static_cast<size_t>(OC) * sizeof(float));
  const int max_chunks = static_cast<int>(std::min<size_t>(fit, kMaxChunks));
  int rows = kRowsPerChunk, chunks = (N + rows - 1) / rows;
  if (chunks > max_chunks) {
    rows = max_chunks > 0 ? (N + max_chunks - 1) / max_chunks : N;
    chunks = (N + rows - 1) / rows;
  }
  constexpr int P = vec::kPack<T>;
  const bool vec_in = OC % P == 0 && vec::aligned16(dout);
  if (chunks == 1) {
    if (vec_in) {
      launch_column_pass<T, G, P, true>(nullptr, dbias, dout, N, OC, N, stream);
    } else {
      launch_column_pass<T, G, 1, true>(nullptr, dbias, dout, N, OC, N, stream);
    }
    return;
  }
  if (vec_in) {
    launch_column_pass<T, G, P, false>(workspace, dbias, dout, N, OC, rows, stream);
  } else {
    launch_column_pass<T, G, 1, false>(workspace, dbias, dout, N, OC, rows, stream);
  }
  // One column per thread: OC / 32 blocks rather than the OC / 128 that 16-byte packs give
  // (6 blocks at OC = 768, where the chunk sums are latency-bound). Each column's additions are
  // the same, in the same order, as with packs: the results are bitwise unchanged.
  launch_column_pass<float, G, 1, true>(nullptr, dbias, workspace, chunks, OC, chunks, stream);
}

// ---- unfused epilogue: out[r, c] += bias[c] ----

constexpr int kBiasThreads = 256;

template <class T>
__global__ void __launch_bounds__(kBiasThreads)
    add_bias_kernel(T* out, const T* bias, int64_t total, int OC) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kBiasThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kBiasThreads + threadIdx.x; i < total;
       i += stride) {
    out[i] = vec::from_float<T>(vec::to_float(out[i]) + vec::to_float(bias[i % OC]));
  }
}

template <class T>
void launch_add_bias(T* out, const T* bias, int N, int OC, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(N) * OC;
  const int64_t blocks = std::min<int64_t>((total + kBiasThreads - 1) / kBiasThreads, 1 << 16);
  add_bias_kernel<T>
      <<<static_cast<unsigned>(blocks), kBiasThreads, 0, stream>>>(out, bias, total, OC);
  CUDA_CHECK(cudaGetLastError());
}

void check_sizes(const char* fn, int N, int IC, int OC) {
  if (N < 0 || IC < 0 || OC < 0) {
    throw std::invalid_argument(std::string("merino::cuda::Matmul::") + fn +
                                ": negative size (N=" + std::to_string(N) +
                                ", IC=" + std::to_string(IC) + ", OC=" + std::to_string(OC) + ")");
  }
}

void check_pointer(const char* fn, const char* name, const void* p) {
  if (p == nullptr) {
    throw std::invalid_argument(std::string("merino::cuda::Matmul::") + fn + ": " + name +
                                " is null");
  }
}

}  // namespace

struct Matmul::State {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  std::unordered_map<PlanKey, std::unique_ptr<Plan>, PlanKeyHash> plans;

  ~State() {
    plans.clear();
    if (workspace) cudaFree(workspace);
    if (handle) cublasLtDestroy(handle);
  }

  // The cached plan for g, built (descriptors + heuristic) on first use: A and B of type T,
  // C and D of type TD.
  template <class T, class TD = T>
  Plan& plan(const Gemm& g, bool allow_tf32) {
    const bool gelu = has_gelu(g.epilogue);
    const bool tf32 = std::is_same<T, float>::value && allow_tf32;
    const PlanKey key{g.m,
                      g.n,
                      g.k,
                      static_cast<uint8_t>(g.transa),
                      static_cast<uint8_t>(g.transb),
                      static_cast<uint8_t>(TypeInfo<T>::kCuda),
                      static_cast<uint8_t>(TypeInfo<TD>::kCuda),
                      static_cast<uint8_t>(g.epilogue),
                      static_cast<uint8_t>(tf32),
                      align_log2(g.A),
                      align_log2(g.B),
                      align_log2(g.D),
                      has_bias(g.epilogue) ? align_log2(g.bias) : uint8_t(0),
                      gelu ? align_log2(g.aux) : uint8_t(0)};
    auto it = plans.find(key);
    if (it != plans.end()) return *it->second;

    auto p = std::make_unique<Plan>();
    const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    lt_check(cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
    set_desc(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, static_cast<int32_t>(g.transa));
    set_desc(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, static_cast<int32_t>(g.transb));
    const cudaDataType_t t = TypeInfo<T>::kCuda;
    const bool ta = g.transa != CUBLAS_OP_N, tb = g.transb != CUBLAS_OP_N;
    lt_check(cublasLtMatrixLayoutCreate(&p->a, t, ta ? g.k : g.m, ta ? g.m : g.k, ta ? g.k : g.m),
             "cublasLtMatrixLayoutCreate");
    lt_check(cublasLtMatrixLayoutCreate(&p->b, t, tb ? g.n : g.k, tb ? g.k : g.n, tb ? g.n : g.k),
             "cublasLtMatrixLayoutCreate");
    lt_check(cublasLtMatrixLayoutCreate(&p->d, TypeInfo<TD>::kCuda, g.m, g.n, g.m),
             "cublasLtMatrixLayoutCreate");

    Preference pref;
    pref.set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(workspace_bytes));
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, uint32_t(1) << key.align_a);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, uint32_t(1) << key.align_b);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, uint32_t(1) << key.align_d);
    pref.set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, uint32_t(1) << key.align_d);
    if (!std::is_same<TD, float>::value) {
      pref.set(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
               static_cast<uint32_t>(CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE));
    }

    // An epilogue plan that cuBLASLt cannot fuse is kept as a marker (fused = false): forward()
    // then runs the plain GEMM's own plan and the epilogue kernels. cuBLASLt requires the GELU
    // aux leading dimension (m) to be a multiple of 8, so such shapes are not even asked.
    if (gelu && g.m % 8 != 0) {
      p->fused = false;
    } else {
      set_desc(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
               static_cast<uint32_t>(lt_epilogue(g.epilogue)));
      if (has_bias(g.epilogue)) set_desc(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias);
      if (gelu) {
        set_desc(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, g.aux);
        set_desc(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, static_cast<int64_t>(g.m));
      }
      cublasLtMatmulHeuristicResult_t result{};
      int found = 0;
      const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(
          handle, p->desc, p->a, p->b, p->d, p->d, pref.get(), 1, &result, &found);
      if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
        p->algo = result.algo;
      } else if (g.epilogue != Epilogue::kNone) {
        // whatever the heuristic objects to (NOT_SUPPORTED, or INVALID_VALUE from some versions
        // for an epilogue and type pair), the plain GEMM's own plan reports a real problem
        p->fused = false;
      } else {
        lt_check(st == CUBLAS_STATUS_SUCCESS ? CUBLAS_STATUS_NOT_SUPPORTED : st,
                 ("cublasLtMatmulAlgoGetHeuristic (no algorithm for a " +
                  std::string(TypeInfo<T>::kName) + "->" + TypeInfo<TD>::kName +
                  " GEMM m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) +
                  " k=" + std::to_string(g.k) +
                  ", operand alignments A=" + std::to_string(1 << key.align_a) +
                  " B=" + std::to_string(1 << key.align_b) +
                  " D=" + std::to_string(1 << key.align_d) + " bytes)")
                     .c_str());
      }
    }
    Plan& ref = *p;
    plans.emplace(key, std::move(p));
    return ref;
  }

  // Runs g with p, a plan built for it that fuses its epilogue (or has none).
  void run(Plan& p, const Gemm& g, cudaStream_t stream) {
    if (has_bias(g.epilogue)) set_desc(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias);
    if (has_gelu(g.epilogue)) set_desc(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, g.aux);
    const float alpha = 1.0f;
    lt_check(cublasLtMatmul(handle, p.desc, &alpha, g.A, p.a, g.B, p.b, &g.beta, g.D, p.d, g.D, p.d,
                            &p.algo, workspace, workspace_bytes, stream),
             "cublasLtMatmul");
  }

  template <class T, class TD = T>
  void gemm(const Gemm& g, bool tf32, cudaStream_t stream) {
    run(plan<T, TD>(g, tf32), g, stream);
  }

  // out = inp W^T (+ bias); with pre_gelu: pre_gelu = that, out = gelu(pre_gelu).
  template <class T>
  void forward(T* out, T* pre_gelu, const T* inp, const T* weight, const T* bias, int N, int IC,
               int OC, bool tf32, cudaStream_t stream) {
    T* product = pre_gelu ? pre_gelu : out;  // where the unfused path leaves inp W^T
    if (IC == 0) {  // an empty sum: the product is zero, and cuBLASLt does not take k = 0
      CUDA_CHECK(cudaMemsetAsync(product, 0, static_cast<size_t>(N) * OC * sizeof(T), stream));
    } else {
      Gemm g{CUBLAS_OP_T, CUBLAS_OP_N,     OC,   N,       IC, weight, inp, out,
             0.0f,        Epilogue::kNone, bias, pre_gelu};
      if (pre_gelu) {
        g.epilogue = bias ? Epilogue::kGeluBias : Epilogue::kGelu;
      } else if (bias) {
        g.epilogue = Epilogue::kBias;
      }
      Plan& p = plan<T>(g, tf32);
      if (p.fused) {
        run(p, g, stream);
        return;
      }
      g.D = product;
      g.epilogue = Epilogue::kNone;
      gemm<T>(g, tf32, stream);
    }
    if (bias) launch_add_bias(product, bias, N, OC, stream);
    if (pre_gelu) gelu_forward(out, pre_gelu, static_cast<size_t>(N) * OC, stream);
  }

  // dinp = dout W, times gelu'(pre) when pre is given: one GEMM with the DGELU epilogue, or the
  // plain GEMM and gelu_backward in place when cuBLASLt cannot fuse it.
  template <class T>
  void input_gradient(T* dinp, const T* dout, const T* weight, const T* pre, int N, int IC,
                      int OC, bool tf32, cudaStream_t stream) {
    // dinp^T[IC, N] = W^T[IC, OC] dout^T[OC, N]
    Gemm g{CUBLAS_OP_N, CUBLAS_OP_N,     IC,      N,       OC, weight, dout, dinp,
           0.0f,        Epilogue::kNone, nullptr, nullptr};
    if (pre) {
      g.epilogue = Epilogue::kDGelu;
      g.aux = const_cast<T*>(pre);  // read only: DGELU takes the aux matrix as an input
      Plan& p = plan<T>(g, tf32);
      if (p.fused) {
        run(p, g, stream);
        return;
      }
      g.epilogue = Epilogue::kNone;
      g.aux = nullptr;
    }
    gemm<T>(g, tf32, stream);
    if (pre) gelu_backward(dinp, dinp, pre, static_cast<size_t>(N) * IC, stream);
  }

  // dweight += dout^T inp (in the GEMM, beta = 1), dbias += column sums of dout
  template <class T, class G>
  void parameter_gradients(G* dweight, G* dbias, const T* dout, const T* inp, int N, int IC,
                           int OC, bool tf32, cudaStream_t stream) {
    // dweight^T[IC, OC] += inp^T[IC, N] dout[N, OC]
    gemm<T, G>(Gemm{CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, N, inp, dout, dweight, 1.0f,
                    Epilogue::kNone, nullptr, nullptr},
               tf32, stream);
    if (dbias) {
      column_sum(dbias, dout, N, OC, static_cast<float*>(workspace), workspace_bytes, stream);
    }
  }
};

Matmul::Matmul(size_t workspace_bytes) : state_(std::make_unique<State>()) {
  lt_check(cublasLtCreate(&state_->handle), "cublasLtCreate");
  CUDA_CHECK(cudaMalloc(&state_->workspace, workspace_bytes == 0 ? 1 : workspace_bytes));
  state_->workspace_bytes = workspace_bytes;
}

Matmul::~Matmul() = default;

size_t Matmul::plan_count() const { return state_->plans.size(); }

template <class T>
void Matmul::forward(T* out, const T* inp, const T* weight, const T* bias, int N, int IC, int OC,
                     cudaStream_t stream) {
  check_sizes("forward", N, IC, OC);
  if (N == 0 || OC == 0) return;
  check_pointer("forward", "out", out);
  if (IC > 0) {
    check_pointer("forward", "inp", inp);
    check_pointer("forward", "weight", weight);
  }
  state_->forward<T>(out, nullptr, inp, weight, bias, N, IC, OC, tf32_, stream);
}

template <class T>
void Matmul::forward_gelu(T* out, T* pre_gelu, const T* inp, const T* weight, const T* bias, int N,
                          int IC, int OC, cudaStream_t stream) {
  check_sizes("forward_gelu", N, IC, OC);
  if (N == 0 || OC == 0) return;
  check_pointer("forward_gelu", "out", out);
  check_pointer("forward_gelu", "pre_gelu", pre_gelu);
  if (IC > 0) {
    check_pointer("forward_gelu", "inp", inp);
    check_pointer("forward_gelu", "weight", weight);
  }
  state_->forward<T>(out, pre_gelu, inp, weight, bias, N, IC, OC, tf32_, stream);
}

template <class T, class G>
void Matmul::backward(T* dinp, G* dweight, G* dbias, const T* dout, const T* inp, const T* weight,
                      int N, int IC, int OC, cudaStream_t stream) {
  static_assert(std::is_same<G, T>::value || std::is_same<G, float>::value,
                "gradients are T or fp32");
  check_sizes("backward", N, IC, OC);
  if (N == 0 || IC == 0 || OC == 0) {  // every product is empty; dinp = an empty sum
    if (dinp && N > 0 && IC > 0) {
      CUDA_CHECK(cudaMemsetAsync(dinp, 0, static_cast<size_t>(N) * IC * sizeof(T), stream));
    }
    return;
  }
  check_pointer("backward", "dweight", dweight);
  check_pointer("backward", "dout", dout);
  check_pointer("backward", "inp", inp);
  if (dinp) {
    check_pointer("backward", "weight", weight);
    state_->input_gradient<T>(dinp, dout, weight, nullptr, N, IC, OC, tf32_, stream);
  }
  state_->parameter_gradients<T, G>(dweight, dbias, dout, inp, N, IC, OC, tf32_, stream);
}

template <class T, class G>
void Matmul::backward_gelu(T* dpre, G* dweight, G* dbias, const T* dout, const T* inp,
                           const T* pre, const T* weight, int N, int IC, int OC,
                           cudaStream_t stream) {
  static_assert(std::is_same<G, T>::value || std::is_same<G, float>::value,
                "gradients are T or fp32");
  check_sizes("backward_gelu", N, IC, OC);
  if (N == 0 || IC == 0) return;
  check_pointer("backward_gelu", "dpre", dpre);
  if (OC == 0) {  // dout W is an empty sum, and so is its product with gelu'
    CUDA_CHECK(cudaMemsetAsync(dpre, 0, static_cast<size_t>(N) * IC * sizeof(T), stream));
    return;
  }
  check_pointer("backward_gelu", "dweight", dweight);
  check_pointer("backward_gelu", "dout", dout);
  check_pointer("backward_gelu", "inp", inp);
  check_pointer("backward_gelu", "pre", pre);
  check_pointer("backward_gelu", "weight", weight);
  state_->input_gradient<T>(dpre, dout, weight, pre, N, IC, OC, tf32_, stream);
  state_->parameter_gradients<T, G>(dweight, dbias, dout, inp, N, IC, OC, tf32_, stream);
}

#define MERINO_INSTANTIATE_MATMUL(T)                                                               \
  template void Matmul::forward<T>(T*, const T*, const T*, const T*, int, int, int, cudaStream_t); \
  template void Matmul::forward_gelu<T>(T*, T*, const T*, const T*, const T*, int, int, int,       \
                                        cudaStream_t);                                             \
  template void Matmul::backward<T, T>(T*, T*, T*, const T*, const T*, const T*, int, int, int,    \
                                       cudaStream_t);                                             \
  template void Matmul::backward_gelu<T, T>(T*, T*, T*, const T*, const T*, const T*, const T*,    \
                                            int, int, int, cudaStream_t);

MERINO_INSTANTIATE_MATMUL(float)
MERINO_INSTANTIATE_MATMUL(__nv_bfloat16)
template void Matmul::backward<__nv_bfloat16, float>(__nv_bfloat16*, float*, float*,
                                                     const __nv_bfloat16*, const __nv_bfloat16*,
                                                     const __nv_bfloat16*, int, int, int,
                                                     cudaStream_t);
template void Matmul::backward_gelu<__nv_bfloat16, float>(
    __nv_bfloat16*, float*, float*, const __nv_bfloat16*, const __nv_bfloat16*,
    const __nv_bfloat16*, const __nv_bfloat16*, int, int, int, cudaStream_t);

#undef MERINO_INSTANTIATE_MATMUL

}  // namespace merino::cuda
