// Shard files and SHA-256: published digests, the on-disk layout, atomic replacement, and a
// reader that turns any damaged or foreign file into a DataError instead of a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "base/sha256.h"
#include "data/shard.h"
#include "data_test_support.h"

namespace merino {
namespace {

using test::ScratchDir;

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the NESSIE one-million-'a' vector.
TEST(shard_sha256, PublishedVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(shard_sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += char(i * 7 + 3);
  for (size_t chunk : {1, 3, 55, 56, 63, 64, 65, 128, 999}) {
    Sha256 h;
    for (size_t at = 0; at < data.size(); at += chunk) h.update(data.data() + at, std::min(chunk, data.size() - at));
    EXPECT_EQ(h.hex_digest(), sha256_hex(data)) << "chunk " << chunk;
  }
  // Lengths around the padding boundary (56 bytes leave no room for the length field in the
  // last block); digests from coreutils sha256sum.
  EXPECT_EQ(sha256_hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

TEST(shard_sha256, FileDigestAndMissingFile) {
  ScratchDir dir;
  EXPECT_EQ(sha256_file(dir.write("f", "abc")), sha256_hex("abc"));
  EXPECT_THROW(sha256_file(dir.path("missing")), DataError);
}

uint32_t le32(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(bytes[at + size_t(i)])) << (8 * i);
  return v;
}

TEST(shard_format, Version1LayoutAndRoundTrip) {
  ScratchDir dir;
  const std::vector<int32_t> tokens = {0, 1, 50256, 65535, 258};
  const std::string path = dir.path("a.bin");
  const std::string sha = write_shard(path, tokens);
  const std::string bytes = test::read_file(path);
  ASSERT_EQ(bytes.size(), 1024u + 2 * tokens.size());
  EXPECT_EQ(le32(bytes, 0), 20240520u);
  EXPECT_EQ(le32(bytes, 4), 1u);
  EXPECT_EQ(le32(bytes, 8), tokens.size());
  for (size_t i = 12; i < 1024; ++i) ASSERT_EQ(bytes[i], 0) << "header byte " << i;
  EXPECT_EQ(uint8_t(bytes[1024 + 4]), 0x50);  // 50256 = 0xC450, little endian
  EXPECT_EQ(uint8_t(bytes[1024 + 5]), 0xC4);
  EXPECT_EQ(sha, sha256_hex(bytes));

  ShardReader r(path);
  EXPECT_EQ(r.version(), 1);
  EXPECT_EQ(r.size(), tokens.size());
  EXPECT_EQ(r.path(), path);
  EXPECT_EQ(test::read_all(r), tokens);
  int32_t two[2];
  r.read(2, 2, two);
  EXPECT_EQ(two[0], 50256);
  EXPECT_EQ(two[1], 65535);
}

TEST(shard_format, Version2ForLargeVocabularies) {
  ScratchDir dir;
  const std::vector<int32_t> tokens = {5, 65536, 2147483647, 0};
  const std::string path = dir.path("b.bin");
  write_shard(path, tokens);
  EXPECT_EQ(std::filesystem::file_size(path), 1024u + 4 * tokens.size());
  ShardReader r(path);
  EXPECT_EQ(r.version(), 2);
  EXPECT_EQ(test::read_all(r), tokens);
}

TEST(shard_format, EmptyShard) {
  ScratchDir dir;
  write_shard(dir.path("e.bin"), {});
  ShardReader r(dir.path("e.bin"));
  EXPECT_EQ(r.size(), 0u);
  r.read(0, 0, nullptr);
  int32_t x;
  EXPECT_THROW(r.read(0, 1, &x), DataError);
}

TEST(shard_format, ReadsOutsideTheShardThrow) {
  ScratchDir dir;
  write_shard(dir.path("c.bin"), {1, 2, 3});
  ShardReader r(dir.path("c.bin"));
  int32_t out[4];
  EXPECT_THROW(r.read(0, 4, out), DataError);
  EXPECT_THROW(r.read(3, 1, out), DataError);
  EXPECT_THROW(r.read(SIZE_MAX, 2, out), DataError);
  EXPECT_THROW(r.read(1, SIZE_MAX, out), DataError);
  r.read(3, 0, out);
}

TEST(shard_format, NegativeTokenIsRefusedAndLeavesNothing) {
  ScratchDir dir;
  const std::string path = dir.path("n.bin");
  write_shard(path, {7, 8});
  EXPECT_THROW(write_shard(path, {1, -1}), DataError);
  EXPECT_EQ(test::read_all(ShardReader(path)), (std::vector<int32_t>{7, 8}));  // old file intact
  const auto files = std::distance(std::filesystem::directory_iterator(dir.str()), std::filesystem::directory_iterator());
  EXPECT_EQ(files, 1) << "a temporary file was left behind";
}

TEST(shard_format, ReplacesAnExistingShardAtomically) {
  ScratchDir dir;
  const std::string path = dir.path("r.bin");
  write_shard(path, {1, 2, 3});
  ShardReader before(path);  // a reader keeps the old contents mapped
  write_shard(path, {4, 5});
  EXPECT_EQ(test::read_all(before), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(test::read_all(ShardReader(path)), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read),
            std::filesystem::perms::others_read);
}

TEST(shard_format, MoveKeepsTheMapping) {
  ScratchDir dir;
  write_shard(dir.path("m.bin"), {9, 8, 7});
  ShardReader a(dir.path("m.bin"));
  ShardReader b(std::move(a));
  EXPECT_EQ(test::read_all(b), (std::vector<int32_t>{9, 8, 7}));
  ShardReader c(dir.path("m.bin"));
  c = std::move(b);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(test::read_all(c), (std::vector<int32_t>{9, 8, 7}));
}

std::string header(int32_t magic, int32_t version, int32_t count) {
  std::string h(1024, '\0');
  std::memcpy(&h[0], &magic, 4);
  std::memcpy(&h[4], &version, 4);
  std::memcpy(&h[8], &count, 4);
  return h;
}

// Each bad file is one DataError whose message names the file and says what is wrong.
TEST(shard_format, BadFilesNameThemselves) {
  ScratchDir dir;
  const struct {
    const char* name;
    std::string bytes;
    const char* expect;
  } cases[] = {
      {"short.bin", std::string(100, '\0'), "too short"},
      {"empty.bin", "", "too short"},
      {"magic.bin", header(1234, 1, 0), "bad magic"},
      {"version.bin", header(20240520, 3, 0), "unsupported shard version 3"},
      {"negative.bin", header(20240520, 1, -5), "negative token count"},
      {"truncated.bin", header(20240520, 1, 10) + std::string(19, '\0'), "header says 10 tokens"},
      {"long.bin", header(20240520, 2, 1) + std::string(5, '\0'), "header says 1 tokens"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.write(c.name, c.bytes);
    try {
      ShardReader r(path);
      ADD_FAILURE() << c.name << " was accepted";
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(ShardReader(dir.path("absent.bin")), DataError);
  EXPECT_THROW(ShardReader(dir.str()), DataError);  // a directory
}

TEST(shard_format, Version2TokenAboveInt32Throws) {
  ScratchDir dir;
  std::string bytes = header(20240520, 2, 2) + std::string(8, '\0');
  bytes[1024 + 4 + 3] = char(0x80);  // 2^31
  ShardReader r(dir.write("big.bin", bytes));
  int32_t out[2];
  EXPECT_THROW(r.read(0, 2, out), DataError);
  r.read(0, 1, out);
  EXPECT_EQ(out[0], 0);
}

// Thousands of random headers and truncations: the reader either accepts a file whose size
// matches its header exactly and reads every token, or throws DataError; never anything else.
TEST(shard_fuzz, RandomAndTruncatedFiles) {
  ScratchDir dir;
  std::mt19937_64 rng(12345);
  const std::string valid1 = test::read_file((write_shard(dir.path("v1.bin"), {1, 2, 3, 4, 5, 65535}), dir.path("v1.bin")));
  const std::string valid2 = test::read_file((write_shard(dir.path("v2.bin"), {1, 70000, 3}), dir.path("v2.bin")));
  int accepted = 0, rejected = 0, files = 0;
  auto attempt = [&](const std::string& bytes) {
    // A fresh name each time: truncating and rewriting one file makes ext4 flush it on close.
    const std::string path = dir.path("fuzz" + std::to_string(files++) + ".bin");
    { std::ofstream(path, std::ios::binary) << bytes; }
    struct Remove {
      std::string p;
      ~Remove() { std::filesystem::remove(p); }
    } remove{path};
    try {
      ShardReader r(path);
      const size_t width = r.version() == 1 ? 2 : 4;
      ASSERT_EQ(bytes.size(), 1024 + r.size() * width);
      std::vector<int32_t> tokens(r.size());
      try {
        r.read(0, tokens.size(), tokens.data());
      } catch (const DataError&) {
        ASSERT_EQ(r.version(), 2);  // only an out-of-int32 token may fail
      }
      ++accepted;
    } catch (const DataError&) {
      ++rejected;
    }
  };
  for (size_t n = 0; n <= valid1.size(); ++n) attempt(valid1.substr(0, n));
  for (size_t n = 0; n <= valid2.size(); ++n) attempt(valid2.substr(0, n));
  for (int i = 0; i < 3000; ++i) {
    const int32_t magic = rng() % 2 ? kShardMagic : int32_t(rng());
    const int32_t version = rng() % 2 ? int32_t(rng() % 4) : int32_t(rng());
    const int32_t count = rng() % 2 ? int32_t(rng() % 64) : int32_t(rng());
    std::string bytes = header(magic, version, count);
    // Payload: sometimes exactly what the header promises, sometimes off by a little or a lot.
    const uint64_t exact = uint64_t(uint32_t(count)) * (version == 1 ? 2 : 4);
    size_t payload = rng() % 3 == 0 && exact < 4096 ? size_t(exact) : size_t(rng() % 300);
    if (rng() % 5 == 0 && payload > 0) payload -= 1;
    for (size_t k = 0; k < payload; ++k) bytes += char(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));  // truncated anywhere
    attempt(bytes);
  }
  EXPECT_GT(accepted, 20);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace merino
