// A Backend<T> decorator that forwards every op to the real CUDA backend (kernels/
// forwarding_backend.h) and, while recording, brackets each op with a pair of CUDA events on the
// backend's stream, so that one training step can be split into time per op name (the per-op
// breakdown bench_cuda_model prints). The events are read only after the step, so recording
// adds two event records per op and no synchronisation; allocation and copies are untimed. The design is the
// decorator of a profiling proxy (e.g. PyTorch's record_function ranges, read back per name).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.cuh"
#include "kernels/forwarding_backend.h"

namespace merino::bench {

// One op name's share of a recorded step.
struct OpTime {
  std::string op;
  int calls = 0;
  double ms = 0.0;
};

template <class T>
class TimingBackend final : public ForwardingBackend<T> {
 public:
  // inner: the backend doing the work; stream: the cudaStream_t its ops are queued on
  TimingBackend(Backend<T>& inner, void* stream)
      : ForwardingBackend<T>(inner), stream_(static_cast<cudaStream_t>(stream)) {}
  ~TimingBackend() override {
    for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  }
  TimingBackend(const TimingBackend&) = delete;
  TimingBackend& operator=(const TimingBackend&) = delete;

  // Ops queued between start() and finish() are timed; finish() waits for them and returns the
  // time per op name, most expensive first, and the whole span's time in *span_ms.
  void start() {
    marks_.clear();
    used_ = 0;
    span_start_ = next_event();
    CUDA_CHECK(cudaEventRecord(span_start_, stream_));
    recording_ = true;
  }
  std::vector<OpTime> finish(double* span_ms) {
    recording_ = false;
    cudaEvent_t span_stop = next_event();
    CUDA_CHECK(cudaEventRecord(span_stop, stream_));
    CUDA_CHECK(cudaEventSynchronize(span_stop));
    *span_ms = elapsed_ms(span_start_, span_stop);
    std::map<std::string, OpTime> by_name;
    for (const Mark& m : marks_) {
      OpTime& t = by_name[m.op];
      t.op = m.op;
      t.calls += 1;
      t.ms += elapsed_ms(m.start, m.stop);
    }
    std::vector<OpTime> out;
    for (auto& [name, t] : by_name) out.push_back(t);
    std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.ms > b.ms; });
    return out;
  }

 private:
  struct Mark {
    const char* op;
    cudaEvent_t start, stop;
  };

  void observe(const ObservedOp& op, const std::function<void()>& run) override {
    if (!recording_) {
      run();
      return;
    }
    Mark m{op.name, next_event(), next_event()};
    CUDA_CHECK(cudaEventRecord(m.start, stream_));
    run();
    CUDA_CHECK(cudaEventRecord(m.stop, stream_));
    marks_.push_back(m);
  }
  // events are reused from one recorded span to the next
  cudaEvent_t next_event() {
    if (used_ == pool_.size()) {
      cudaEvent_t e;
      CUDA_CHECK(cudaEventCreate(&e));
      pool_.push_back(e);
    }
    return pool_[used_++];
  }
  static double elapsed_ms(cudaEvent_t a, cudaEvent_t b) {
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    return ms;
  }

  cudaStream_t stream_;
  bool recording_ = false;
  std::vector<cudaEvent_t> pool_;
  size_t used_ = 0;
  cudaEvent_t span_start_ = nullptr;
  std::vector<Mark> marks_;
};

}  // namespace merino::bench
