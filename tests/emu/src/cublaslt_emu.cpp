// The cuBLASLt calls of kernels/cuda/matmul.cu (the set kernels/cuda/lazy_cublaslt.cpp
// forwards), for the emulated device: with it matmul.cu, and the CUDA backend over it, run
// under the emulation, so the glue a GPU would otherwise be the first to check -- which GEMM
// each linear layer asks for, its transposes, leading dimensions, beta, bias and GELU aux
// pointers, the unfused fallbacks -- is tested against the CPU backend in CI.
//
// Written from cuBLASLt's documented semantics (cublasLt.h; the cuBLAS guide's cublasLtMatmul),
// not from matmul.cu: column-major operands, D = epilogue(alpha op(A) op(B) + beta C [+ bias]),
// bias of length rows(D) added to every column, the GELU aux matrix (leading dimension
// EPILOGUE_AUX_LD) holding the GELU's input, DGELU multiplying the product by GELU' of aux; bias
// and aux in D's type unless their DATA_TYPE attributes say otherwise. Every layout is checked
// against the shapes op(A) [m, k], op(B) [k, n] and C = D [m, n] imply, and an inconsistent call
// returns CUBLAS_STATUS_INVALID_VALUE (matmul.cu then throws, naming the call). Products are
// summed in double and rounded once to D's type. GELU is the tanh form (GPT-2's, which cuBLASLt
// implements); the fp32 CPU twin uses the same formula, so an emulated test cannot tell whether
// a real GPU's GELU rounds differently -- only a GPU run can (scripts/gpu-check.sh).
//
// MERINO_EMU_CUBLASLT_UNFUSED=1 makes the heuristic refuse every epilogue, as a cuBLASLt
// without a fused kernel for a type or alignment would, so matmul.cu's fallback (plain GEMM,
// then its own bias and GELU kernels) runs instead.
#include <cublasLt.h>
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct Handle {
  int unused = 0;
};

struct Layout {
  cudaDataType_t type;
  uint64_t rows, cols;
  int64_t ld;
};

struct Desc {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
  void* aux = nullptr;
  int64_t aux_ld = 0;
  int32_t bias_type = -1, aux_type = -1;  // -1: D's type
};

struct Preference {
  int unused = 0;
};

template <class Opaque, class Own>
Opaque* as_opaque(Own* p) {
  return reinterpret_cast<Opaque*>(p);
}
template <class Own, class Opaque>
Own* own(Opaque p) {
  return reinterpret_cast<Own*>(p);
}

bool supported_type(cudaDataType_t t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }

double load(const void* base, cudaDataType_t t, int64_t i) {
  if (t == CUDA_R_32F) return static_cast<const float*>(base)[i];
  return double(__bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]));
}

void store(void* base, cudaDataType_t t, int64_t i, double v) {
  if (t == CUDA_R_32F) {
    static_cast<float*>(base)[i] = float(v);
  } else {
    static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(float(v));
  }
}

// GELU, tanh form, and its derivative
double gelu(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}
double gelu_grad(double x) {
  const double c = std::sqrt(2.0 / M_PI);
  const double u = c * (x + 0.044715 * x * x * x);
  const double t = std::tanh(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x);
}

bool has_bias(uint32_t e) {
  return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS ||
         e == CUBLASLT_EPILOGUE_GELU_BIAS;
}
bool writes_aux(uint32_t e) {
  return e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS;
}
bool applies_gelu(uint32_t e) {
  return writes_aux(e) || e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS;
}
bool supported_epilogue(uint32_t e) {
  return e == CUBLASLT_EPILOGUE_DEFAULT || has_bias(e) || applies_gelu(e) ||
         e == CUBLASLT_EPILOGUE_DGELU;
}

// The GEMM's m, n, k from the layouts, or false when they do not fit together.
bool shapes(const Desc& d, const Layout& a, const Layout& b, const Layout& c, const Layout& out,
            uint64_t* m, uint64_t* n, uint64_t* k) {
  const bool ta = d.transa != CUBLAS_OP_N, tb = d.transb != CUBLAS_OP_N;
  *m = ta ? a.cols : a.rows;
  *k = ta ? a.rows : a.cols;
  *n = tb ? b.rows : b.cols;
  const uint64_t kb = tb ? b.cols : b.rows;
  const auto ld_ok = [](const Layout& l) { return l.ld >= 1 && uint64_t(l.ld) >= l.rows; };
  return kb == *k && out.rows == *m && out.cols == *n && c.rows == *m && c.cols == *n &&
         c.type == out.type && a.type == b.type && supported_type(a.type) &&
         supported_type(out.type) && ld_ok(a) && ld_ok(b) && ld_ok(c) && ld_ok(out) && *k > 0;
}

bool epilogue_ok(const Desc& d, uint64_t m) {
  if (!supported_epilogue(d.epilogue)) return false;
  if (has_bias(d.epilogue) && d.bias == nullptr) return false;
  const bool aux = writes_aux(d.epilogue) || d.epilogue == CUBLASLT_EPILOGUE_DGELU;
  return !aux || (d.aux != nullptr && d.aux_ld >= int64_t(m) && d.aux_ld % 8 == 0);
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  *handle = reinterpret_cast<cublasLtHandle_t>(new Handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  delete reinterpret_cast<Handle*>(handle);
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasLtGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_(other)";
  }
}

const char* cublasLtGetStatusString(cublasStatus_t status) {
  return status == CUBLAS_STATUS_SUCCESS ? "success"
                                         : "rejected by the emulated cuBLASLt (tests/emu/src/"
                                           "cublaslt_emu.cpp)";
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld) {
  *layout = as_opaque<cublasLtMatrixLayoutOpaque_t>(new Layout{type, rows, cols, ld});
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete own<Layout>(layout);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (scale != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  auto* d = new Desc;
  d->compute = compute;
  d->scale = scale;
  *desc = as_opaque<cublasLtMatmulDescOpaque_t>(d);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete own<Desc>(desc);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t bytes) {
  Desc& d = *own<Desc>(desc);
  const auto take = [&](auto& field) {
    if (bytes != sizeof(field)) return CUBLAS_STATUS_INVALID_VALUE;
    std::memcpy(&field, buf, bytes);
    return CUBLAS_STATUS_SUCCESS;
  };
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return take(d.transa);
    case CUBLASLT_MATMUL_DESC_TRANSB: return take(d.transb);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return take(d.epilogue);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return take(d.bias);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER: return take(d.aux);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD: return take(d.aux_ld);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return take(d.bias_type);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE: return take(d.aux_type);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;  // not emulated: the caller learns at once
  }
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* preference) {
  *preference = as_opaque<cublasLtMatmulPreferenceOpaque_t>(new Preference);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t preference) {
  delete own<Preference>(preference);
  return CUBLAS_STATUS_SUCCESS;
}

// workspace size, alignments and reduction schemes only steer the choice of a real kernel
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t,
                                                    cublasLtMatmulPreferenceAttributes_t,
                                                    const void*, size_t) {
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t, int requested,
                                              cublasLtMatmulHeuristicResult_t results[],
                                              int* returned) {
  *returned = 0;
  const Desc& dd = *own<Desc>(desc);
  uint64_t m, n, k;
  if (requested < 1 || !shapes(dd, *own<Layout>(a), *own<Layout>(b), *own<Layout>(c),
                               *own<Layout>(d), &m, &n, &k) ||
      !epilogue_ok(dd, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  const char* unfused = std::getenv("MERINO_EMU_CUBLASLT_UNFUSED");
  if (dd.epilogue != CUBLASLT_EPILOGUE_DEFAULT && unfused && std::strcmp(unfused, "1") == 0)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  results[0] = cublasLtMatmulHeuristicResult_t{};
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t desc, const void* alpha,
                              const void* A, cublasLtMatrixLayout_t a_desc, const void* B,
                              cublasLtMatrixLayout_t b_desc, const void* beta, const void* C,
                              cublasLtMatrixLayout_t c_desc, void* D,
                              cublasLtMatrixLayout_t d_desc, const cublasLtMatmulAlgo_t*, void*,
                              size_t, cudaStream_t) {
  const Desc& d = *own<Desc>(desc);
  const Layout &la = *own<Layout>(a_desc), &lb = *own<Layout>(b_desc), &lc = *own<Layout>(c_desc),
               &ld = *own<Layout>(d_desc);
  uint64_t m, n, k;
  if (!shapes(d, la, lb, lc, ld, &m, &n, &k) || !epilogue_ok(d, m) || !A || !B || !D ||
      (!C && *static_cast<const float*>(beta) != 0.0f))
    return CUBLAS_STATUS_INVALID_VALUE;
  const double al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  const bool ta = d.transa != CUBLAS_OP_N, tb = d.transb != CUBLAS_OP_N;
  const cudaDataType_t bias_type = d.bias_type < 0 ? ld.type : cudaDataType_t(d.bias_type);
  const cudaDataType_t aux_type = d.aux_type < 0 ? ld.type : cudaDataType_t(d.aux_type);
  std::vector<double> column(m);
  for (uint64_t j = 0; j < n; ++j) {
    for (uint64_t i = 0; i < m; ++i) {
      double acc = 0;
      for (uint64_t p = 0; p < k; ++p) {
        // op(A)[i, p] and op(B)[p, j] in the column-major storage of A and B
        const int64_t ia = ta ? int64_t(p + i * la.ld) : int64_t(i + p * la.ld);
        const int64_t ib = tb ? int64_t(j + p * lb.ld) : int64_t(p + j * lb.ld);
        acc += load(A, la.type, ia) * load(B, lb.type, ib);
      }
      double v = al * acc;
      if (be != 0) v += be * load(C, lc.type, int64_t(i + j * lc.ld));
      column[i] = v;  // C is read whole before D (which may be C) is written
    }
    for (uint64_t i = 0; i < m; ++i) {
      double v = column[i];
      if (has_bias(d.epilogue)) v += load(d.bias, bias_type, int64_t(i));
      const int64_t ia = int64_t(i + j * uint64_t(d.aux_ld));
      if (writes_aux(d.epilogue)) store(d.aux, aux_type, ia, v);
      if (applies_gelu(d.epilogue)) v = gelu(v);
      if (d.epilogue == CUBLASLT_EPILOGUE_DGELU) v *= gelu_grad(load(d.aux, aux_type, ia));
      store(D, ld.type, int64_t(i + j * ld.ld), v);
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
