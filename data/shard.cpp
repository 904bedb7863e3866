// Shard files: writing goes through AtomicFile and hashes the bytes on the way out; reading maps
// the file and checks every header field against the file size before a token is touched, so a
// damaged or foreign file is one DataError, never an out-of-bounds read.
#include "data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "base/atomic_file.h"
#include "base/sha256.h"

namespace merino {
namespace {

constexpr size_t kHeaderBytes = kShardHeaderInts * 4;

// The format is little-endian on disk whatever the host; bytes are assembled explicitly.
void put_le(unsigned char* p, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint32_t get_le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}

// Writes through the file and the hash together.
struct HashingWriter {
  AtomicFile& file;
  Sha256& hash;
  void operator()(const void* data, size_t n) {
    file.write(data, n);
    hash.update(data, n);
  }
};

}  // namespace

std::string write_shard(const std::string& path, const std::vector<int32_t>& tokens) {
  if (tokens.size() > size_t(std::numeric_limits<int32_t>::max()))
    throw DataError(path + ": " + std::to_string(tokens.size()) + " tokens do not fit the header's int32 count");
  int32_t largest = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0) throw DataError(path + ": negative token " + std::to_string(tokens[i]) + " at " + std::to_string(i));
    largest = std::max(largest, tokens[i]);
  }
  const int version = largest <= 0xFFFF ? 1 : 2;
  const int width = version == 1 ? 2 : 4;

  AtomicFile file(path);
  Sha256 hash;
  HashingWriter out{file, hash};
  unsigned char header[kHeaderBytes] = {};
  put_le(header, uint32_t(kShardMagic), 4);
  put_le(header + 4, uint32_t(version), 4);
  put_le(header + 8, uint32_t(tokens.size()), 4);
  out(header, sizeof header);

  std::vector<unsigned char> block(size_t(1) << 20);
  const size_t per_block = block.size() / size_t(width);
  for (size_t begin = 0; begin < tokens.size(); begin += per_block) {
    const size_t n = std::min(per_block, tokens.size() - begin);
    for (size_t i = 0; i < n; ++i) put_le(block.data() + i * size_t(width), uint32_t(tokens[begin + i]), width);
    out(block.data(), n * size_t(width));
  }
  file.commit();
  return hash.hex_digest();
}

ShardReader::ShardReader(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw DataError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw DataError(path + ": not a regular file");
  }
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes < kHeaderBytes) {
    ::close(fd);
    throw DataError(path + ": " + std::to_string(file_bytes) + " bytes, too short for the " +
                    std::to_string(kHeaderBytes) + "-byte shard header");
  }
  void* map = ::mmap(nullptr, file_bytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) throw DataError(path + ": mmap failed: " + std::strerror(errno));
  map_ = static_cast<const unsigned char*>(map);
  map_bytes_ = file_bytes;

  const auto magic = int32_t(get_le(map_, 4));
  const auto version = int32_t(get_le(map_ + 4, 4));
  const auto count = int32_t(get_le(map_ + 8, 4));
  std::string problem;
  if (magic != kShardMagic) {
    problem = "bad magic " + std::to_string(magic) + " (expected " + std::to_string(kShardMagic) + "): not a token shard";
  } else if (version != 1 && version != 2) {
    problem = "unsupported shard version " + std::to_string(version) + " (1: uint16 tokens, 2: uint32 tokens)";
  } else if (count < 0) {
    problem = "negative token count " + std::to_string(count) + " in the header";
  } else {
    const uint64_t expected = kHeaderBytes + uint64_t(count) * (version == 1 ? 2 : 4);
    if (expected != file_bytes)
      problem = "header says " + std::to_string(count) + " tokens (" + std::to_string(expected) +
                " bytes) but the file has " + std::to_string(file_bytes) + " bytes";
  }
  if (!problem.empty()) {
    close();
    throw DataError(path + ": " + problem);
  }
  version_ = version;
  count_ = size_t(count);
}

ShardReader::~ShardReader() { close(); }

ShardReader::ShardReader(ShardReader&& other) noexcept
    : path_(std::move(other.path_)), version_(other.version_), count_(other.count_), map_(other.map_),
      map_bytes_(other.map_bytes_) {
  other.map_ = nullptr;
  other.map_bytes_ = 0;
  other.count_ = 0;
}

ShardReader& ShardReader::operator=(ShardReader&& other) noexcept {
  if (this != &other) {
    close();
    path_ = std::move(other.path_);
    version_ = other.version_;
    count_ = other.count_;
    map_ = other.map_;
    map_bytes_ = other.map_bytes_;
    other.map_ = nullptr;
    other.map_bytes_ = 0;
    other.count_ = 0;
  }
  return *this;
}

void ShardReader::close() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
  map_ = nullptr;
  map_bytes_ = 0;
}

void ShardReader::read(size_t begin, size_t n, int32_t* out) const {
  if (begin > count_ || n > count_ - begin)
    throw DataError(path_ + ": read of tokens [" + std::to_string(begin) + ", " + std::to_string(begin) + "+" +
                    std::to_string(n) + ") is outside the shard's " + std::to_string(count_) + " tokens");
  const unsigned char* p = map_ + kHeaderBytes;
  if (version_ == 1) {
    for (size_t i = 0; i < n; ++i) out[i] = int32_t(get_le(p + 2 * (begin + i), 2));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v = get_le(p + 4 * (begin + i), 4);
    // A version-2 token above INT32_MAX would turn negative and index outside any embedding.
    if (v > uint32_t(std::numeric_limits<int32_t>::max()))
      throw DataError(path_ + ": token " + std::to_string(v) + " at " + std::to_string(begin + i) + " does not fit int32");
    out[i] = int32_t(v);
  }
}

size_t ShardReader::find_token_at_least(uint64_t limit) const {
  const unsigned char* p = map_ + kHeaderBytes;
  const int width = version_ == 1 ? 2 : 4;
  if (version_ == 1 && limit > 0xFFFF) return count_;
  for (size_t i = 0; i < count_; ++i)
    if (get_le(p + size_t(width) * i, width) >= limit) return i;
  return count_;
}

}  // namespace merino
