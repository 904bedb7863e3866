#include "train/distributed/grad_sync.h"

namespace merino {

void GradSync::ready(size_t offset, size_t numel) {
  if (numel == 0) return;
  if (begin_ == end_) {
    begin_ = offset;
    end_ = offset + numel;
  } else if (offset + numel == begin_) {
    begin_ = offset;
  } else if (offset == end_) {
    end_ += numel;
  } else {
    flush();
    begin_ = offset;
    end_ = offset + numel;
  }
  if (end_ - begin_ >= bucket_elems_) flush();
  comm_.progress();
}

void GradSync::flush() {
  if (begin_ == end_) return;
  comm_.start_all_reduce_sum(grads_ + begin_, end_ - begin_);
  ++buckets_;
  begin_ = end_ = 0;
}

void GradSync::finish() {
  flush();
  comm_.wait_all();
}

}  // namespace merino
