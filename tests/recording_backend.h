// A Backend<float> decorator that forwards every call to a CpuBackend<float> of its own
// (kernels/forwarding_backend.h) and, for each op run on the device, appends its name and size
// arguments ("matmul_forward 8 32 96 1") to ops(), so a test can compare the op sequences two
// callers issue. Allocation and copies are not ops.
#pragma once
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/forwarding_backend.h"

namespace merino::test {

// the wrapped backend, constructed before the forwarding base that refers to it
struct OwnedCpuBackend {
  CpuBackend<float> cpu;
};

class RecordingBackend final : private OwnedCpuBackend, public ForwardingBackend<float> {
 public:
  RecordingBackend() : ForwardingBackend<float>(cpu) {}

  const std::vector<std::string>& ops() const { return ops_; }
  void clear() { ops_.clear(); }

  std::string name() const override { return "recording " + cpu.name(); }

 private:
  void observe(const ObservedOp& op, const std::function<void()>& run) override {
    std::ostringstream line;
    line.precision(17);  // every size exactly, eps as the float it is
    line << op.name;
    for (double size : op.sizes) line << ' ' << size;
    ops_.push_back(line.str());
    run();
  }

  std::vector<std::string> ops_;
};

}  // namespace merino::test
