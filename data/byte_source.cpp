#include "data/byte_source.h"

#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/errors.h"

namespace merino {
namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

File open_file(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw DataError(path + ": cannot open: " + std::strerror(errno));
  return f;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(const std::string& path) : path_(path), file_(open_file(path)) {}
  size_t read(char* buf, size_t n) override {
    const size_t got = std::fread(buf, 1, n, file_.get());
    if (got == 0 && std::ferror(file_.get())) throw DataError(path_ + ": read error: " + std::strerror(errno));
    consumed_ += got;
    return got;
  }
  uint64_t file_bytes_read() const override { return consumed_; }

 private:
  std::string path_;
  File file_;
  uint64_t consumed_ = 0;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(const std::string& path)
      : path_(path), file_(open_file(path)), stream_(ZSTD_createDStream(), &ZSTD_freeDStream),
        in_buf_(ZSTD_DStreamInSize()) {
    if (!stream_) throw DataError(path + ": cannot create a zstd decompression stream");
  }

  size_t read(char* buf, size_t n) override {
    if (n == 0) return 0;
    ZSTD_outBuffer out{buf, n, 0};
    for (;;) {
      if (in_.pos == in_.size && !eof_) refill();
      // ZSTD_decompressStream returns 0 exactly when a frame is complete and flushed; with no
      // input left it is only called to flush what an open frame still holds.
      if (in_.pos == in_.size && !frame_open_) return 0;
      const size_t rc = ZSTD_decompressStream(stream_.get(), &out, &in_);
      if (ZSTD_isError(rc))
        throw DataError(path_ + ": corrupt zstd data near compressed byte " + std::to_string(consumed_) + ": " +
                        ZSTD_getErrorName(rc));
      frame_open_ = rc != 0;
      if (out.pos > 0) return out.pos;
      if (in_.pos == in_.size && eof_ && frame_open_)
        throw DataError(path_ + ": truncated zstd stream (the file ends inside a frame after " +
                        std::to_string(consumed_) + " bytes)");
    }
  }
  uint64_t file_bytes_read() const override { return consumed_; }

 private:
  std::string path_;
  File file_;
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream_;
  std::vector<char> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_open_ = false;
  bool eof_ = false;
  uint64_t consumed_ = 0;

  void refill() {
    const size_t got = std::fread(in_buf_.data(), 1, in_buf_.size(), file_.get());
    if (got == 0 && std::ferror(file_.get())) throw DataError(path_ + ": read error: " + std::strerror(errno));
    eof_ = got == 0;
    consumed_ += got;
    in_ = ZSTD_inBuffer{in_buf_.data(), got, 0};
  }
};

}  // namespace

std::unique_ptr<ByteSource> open_byte_source(const std::string& path) {
  if (ends_with(path, ".zst")) return std::make_unique<ZstdSource>(path);
  return std::make_unique<PlainSource>(path);
}

}  // namespace merino
