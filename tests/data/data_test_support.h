// Helpers for the shard, loader and prepare tests: scratch directories, whole-file reads and
// writes, zstd compression for synthetic Pile files, and the committed GPT-2 tokenizer and PTB
// (datasets/).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "data/shard.h"
#include "data/tokenizer/tokenizer.h"

namespace merino::test {

// A fresh directory named after the running test (ctest runs tests in parallel), removed after.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("merino_data_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path(name);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string zstd_compress(const std::string& bytes, int level = 3) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), level);
  if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

inline std::vector<int32_t> read_all(const ShardReader& r) {
  std::vector<int32_t> t(r.size());
  r.read(0, t.size(), t.data());
  return t;
}

inline std::string datasets_dir() { return MERINO_SOURCE_DIR "/datasets"; }

inline const Tokenizer* gpt2() {
  static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    const std::string dir = datasets_dir() + "/tokenizers/gpt2";
    if (!std::filesystem::exists(dir + "/encoder.json")) return nullptr;
    return std::make_unique<Tokenizer>(Tokenizer::load_gpt2(dir + "/encoder.json", dir + "/vocab.bpe"));
  }();
  return tok.get();
}

#define MERINO_GPT2_OR_SKIP(var)                \
  const ::merino::Tokenizer* var = ::merino::test::gpt2(); \
  if (!var) GTEST_SKIP() << "GPT-2 tokenizer files not found under " << ::merino::test::datasets_dir()

}  // namespace merino::test
