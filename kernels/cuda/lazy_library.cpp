#include "kernels/cuda/lazy_library.h"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>

namespace merino {

LazyLibrary::LazyLibrary(const char* what, std::vector<std::string> candidates)
    : what_(what), candidates_(std::move(candidates)) {}

void* LazyLibrary::symbol(const char* name) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (!handle_) {
    std::string reasons;
    for (const std::string& file : candidates_) {
      if (file.empty()) continue;
      handle_ = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle_) break;
      const char* why = ::dlerror();
      reasons += (reasons.empty() ? "" : "; ") + std::string(why ? why : file + ": cannot open");
    }
    if (!handle_) throw std::runtime_error("cannot load " + what_ + ": " + reasons);
  }
  ::dlerror();
  void* address = ::dlsym(handle_, name);
  if (!address) throw std::runtime_error(what_ + ": no symbol " + name + " (library too old?)");
  return address;
}

}  // namespace merino
