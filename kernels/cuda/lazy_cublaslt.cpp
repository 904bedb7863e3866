// The cuBLASLt functions merino calls (kernels/cuda/matmul.cu), each forwarding to the library
// opened on first use (kernels/cuda/lazy_library.h), so the binary does not link libcublasLt.
#include <cublasLt.h>

#include "kernels/cuda/lazy_library.h"

namespace {

merino::LazyLibrary& cublaslt() {
  static merino::LazyLibrary library("cuBLASLt", {MERINO_CUBLASLT_SONAME, MERINO_CUBLASLT_PATH});
  return library;
}

}  // namespace

cublasStatus_t CUBLASWINAPI cublasLtCreate(cublasLtHandle_t* handle) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtCreate);
  return real(handle);
}

cublasStatus_t CUBLASWINAPI cublasLtDestroy(cublasLtHandle_t handle) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtDestroy);
  return real(handle);
}

const char* CUBLASWINAPI cublasLtGetStatusName(cublasStatus_t status) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtGetStatusName);
  return real(status);
}

const char* CUBLASWINAPI cublasLtGetStatusString(cublasStatus_t status) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtGetStatusString);
  return real(status);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha,
                                           const void* A, cublasLtMatrixLayout_t a_desc, const void* B,
                                           cublasLtMatrixLayout_t b_desc, const void* beta, const void* C,
                                           cublasLtMatrixLayout_t c_desc, void* D, cublasLtMatrixLayout_t d_desc,
                                           const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspace_bytes,
                                           cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmul);
  return real(handle, desc, alpha, A, a_desc, B, b_desc, beta, C, c_desc, D, d_desc, algo, workspace,
              workspace_bytes, stream);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                           cublasLtMatrixLayout_t a_desc,
                                                           cublasLtMatrixLayout_t b_desc,
                                                           cublasLtMatrixLayout_t c_desc,
                                                           cublasLtMatrixLayout_t d_desc,
                                                           cublasLtMatmulPreference_t preference, int requested,
                                                           cublasLtMatmulHeuristicResult_t results[], int* returned) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulAlgoGetHeuristic);
  return real(handle, desc, a_desc, b_desc, c_desc, d_desc, preference, requested, results, returned);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                                     cudaDataType_t scale) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulDescCreate);
  return real(desc, compute, scale);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulDescDestroy);
  return real(desc);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                                           cublasLtMatmulDescAttributes_t attr, const void* buf,
                                                           size_t bytes) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulDescSetAttribute);
  return real(desc, attr, buf, bytes);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* preference) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulPreferenceCreate);
  return real(preference);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t preference) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulPreferenceDestroy);
  return real(preference);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t preference,
                                                                 cublasLtMatmulPreferenceAttributes_t attr,
                                                                 const void* buf, size_t bytes) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatmulPreferenceSetAttribute);
  return real(preference, attr, buf, bytes);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type,
                                                       uint64_t rows, uint64_t cols, int64_t ld) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatrixLayoutCreate);
  return real(layout, type, rows, cols, ld);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  MERINO_LAZY_SYMBOL(cublaslt(), cublasLtMatrixLayoutDestroy);
  return real(layout);
}
