// SHA-256 (FIPS 180-4), incremental, so a shard or a checkpoint can be hashed while it is
// written instead of being read back. Hex digests identify shards in manifest.json.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace merino {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex digits

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Hex digest of a whole file, read in blocks; throws DataError naming the file if unreadable.
std::string sha256_file(const std::string& path);

}  // namespace merino
