// Data-parallel gradient all-reduce in buckets, overlapped with the backward pass (as PyTorch
// DDP does): the model reports each parameter range as soon as its gradient is final; adjacent
// ranges are merged into a bucket, and a bucket's sum is started once it holds `bucket_bytes`.
// The model reports ranges from the last layer to the first, so a bucket grows downwards in the
// flat gradient buffer. finish() starts the last partial bucket and waits for all of them.
// Ranks report the same ranges in the same order, which keeps the collectives matched.
#pragma once
#include <cstddef>

#include "train/distributed/communicator.h"

namespace merino {

class GradSync {
 public:
  GradSync(Communicator& comm, float* grads, size_t bucket_bytes)
      : comm_(comm), grads_(grads), bucket_elems_(bucket_bytes / sizeof(float)) {}

  void ready(size_t offset, size_t numel);  // grads[offset, offset + numel) is final
  void finish();
  size_t buckets_started() const { return buckets_; }

 private:
  void flush();

  Communicator& comm_;
  float* grads_;
  size_t bucket_elems_;
  size_t begin_ = 0, end_ = 0;  // the open bucket [begin_, end_); empty when equal
  size_t buckets_ = 0;
};

}  // namespace merino
