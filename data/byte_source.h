// Sequential bytes of one input file: read as is, or decompressed on the fly when the file is
// zstd (.zst), so a Pile shard is never inflated to disk or held whole in memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace merino {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to n bytes into buf; 0 only at the end. Throws DataError naming the file on a read error,
  // corrupt zstd data, or a zstd stream that ends inside a frame (a truncated download).
  virtual size_t read(char* buf, size_t n) = 0;
  // Bytes of the file itself consumed so far (compressed bytes for zstd): progress and ETA.
  virtual uint64_t file_bytes_read() const = 0;
};

// zstd when the name ends in ".zst", else plain.
std::unique_ptr<ByteSource> open_byte_source(const std::string& path);

}  // namespace merino
