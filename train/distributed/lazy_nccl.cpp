// The NCCL functions merino calls (train/distributed/nccl_communicator.cpp), each forwarding to
// libnccl opened on first use (kernels/cuda/lazy_library.h): only a CUDA data-parallel run maps it.
#include <nccl.h>

#include "kernels/cuda/lazy_library.h"

namespace {

merino::LazyLibrary& nccl() {
  static merino::LazyLibrary library("NCCL", {MERINO_NCCL_SONAME, MERINO_NCCL_PATH});
  return library;
}

}  // namespace

ncclResult_t ncclGetVersion(int* version) {
  MERINO_LAZY_SYMBOL(nccl(), ncclGetVersion);
  return real(version);
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  MERINO_LAZY_SYMBOL(nccl(), ncclGetUniqueId);
  return real(id);
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  MERINO_LAZY_SYMBOL(nccl(), ncclCommInitRank);
  return real(comm, nranks, id, rank);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  MERINO_LAZY_SYMBOL(nccl(), ncclCommDestroy);
  return real(comm);
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  MERINO_LAZY_SYMBOL(nccl(), ncclCommAbort);
  return real(comm);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  MERINO_LAZY_SYMBOL(nccl(), ncclCommGetAsyncError);
  return real(comm, error);
}

const char* ncclGetErrorString(ncclResult_t result) {
  MERINO_LAZY_SYMBOL(nccl(), ncclGetErrorString);
  return real(result);
}

const char* ncclGetLastError(ncclComm_t comm) {
  MERINO_LAZY_SYMBOL(nccl(), ncclGetLastError);
  return real(comm);
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t type, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclBroadcast);
  return real(send, recv, count, type, root, comm, stream);
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclAllReduce);
  return real(send, recv, count, type, op, comm, stream);
}

ncclResult_t ncclReduceScatter(const void* send, void* recv, size_t recv_count, ncclDataType_t type,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclReduceScatter);
  return real(send, recv, recv_count, type, op, comm, stream);
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t send_count, ncclDataType_t type, ncclComm_t comm,
                           cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclAllGather);
  return real(send, recv, send_count, type, comm, stream);
}

ncclResult_t ncclSend(const void* send, size_t count, ncclDataType_t type, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclSend);
  return real(send, count, type, peer, comm, stream);
}

ncclResult_t ncclRecv(void* recv, size_t count, ncclDataType_t type, int peer, ncclComm_t comm, cudaStream_t stream) {
  MERINO_LAZY_SYMBOL(nccl(), ncclRecv);
  return real(recv, count, type, peer, comm, stream);
}

ncclResult_t ncclGroupStart() {
  MERINO_LAZY_SYMBOL(nccl(), ncclGroupStart);
  return real();
}

ncclResult_t ncclGroupEnd() {
  MERINO_LAZY_SYMBOL(nccl(), ncclGroupEnd);
  return real();
}
