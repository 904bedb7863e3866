// A file that appears under its final name only once it is complete: bytes go to a temporary
// file in the same directory (so the rename cannot cross file systems), which is fsynced and
// renamed over the target, and the directory is fsynced so the rename survives a power cut.
// Destroying an uncommitted AtomicFile removes the temporary, leaving any old target intact.
#pragma once
#include <cstddef>
#include <string>

namespace merino {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws EnvironmentError naming the path
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void commit();  // fsync, rename to the final path, fsync the directory

  // Temporary files are named "<final name>.tmp.XXXXXX"; an interrupted run leaves them behind.
  static bool is_temporary_name(const std::string& file_name);

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
};

// Replaces `path` atomically with `contents`.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace merino
