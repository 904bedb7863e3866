// A shared library opened with dlopen on first use instead of being linked: cuBLASLt (541 MB of
// address space) and NCCL (218 MB) are mapped only by a process that calls into them, so a CPU
// run never maps them and starts under a small `ulimit -v`. The shims that forward each used
// function through symbol() are kernels/cuda/lazy_cublaslt.cpp and
// train/distributed/lazy_nccl.cpp; the technique is the "stub library" of TensorFlow's tsl/cuda (*_stub.cc), written anew here.
#pragma once
#include <string>
#include <vector>

namespace merino {

class LazyLibrary {
 public:
  // `candidates`: file names tried in order (a soname found through the executable's RUNPATH and
  // the loader's path, then the absolute path the build linked against)
  LazyLibrary(const char* what, std::vector<std::string> candidates);
  // the address of `name`; opens the library on the first call. Throws std::runtime_error
  // naming the library, every candidate and the loader's reason.
  void* symbol(const char* name);

 private:
  std::string what_;
  std::vector<std::string> candidates_;
  void* handle_ = nullptr;
};

}  // namespace merino

// Inside a forwarding definition of `name`: `real` is the library's own `name`, resolved once.
#define MERINO_LAZY_SYMBOL(library, name) \
  static const auto real = reinterpret_cast<decltype(&name)>((library).symbol(#name))
