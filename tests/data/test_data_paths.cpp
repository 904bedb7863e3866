// The data lookup order (data/data_paths.h, docs/DATA.md): which root wins for each pair of
// levels, that empty and unset variables drop their level, and the missing-file message.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "base/errors.h"
#include "data/data_paths.h"

namespace merino {
namespace {

namespace fs = std::filesystem;

const std::string kCommitted = MERINO_SOURCE_DIR "/datasets";

// Sets the variables the lookup reads for one test and restores them after.
class LookupEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "merino_paths_XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
    for (const char* name : {"MERINO_DATA", "HOME", "MERINO_SHARED_DATA"}) {
      const char* v = std::getenv(name);
      saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
    }
    ::unsetenv("MERINO_DATA");
    ::setenv("HOME", dir("home").c_str(), 1);
    ::setenv("MERINO_SHARED_DATA", "", 1);
  }
  void TearDown() override {
    for (const auto& [name, v] : saved_) v ? ::setenv(name.c_str(), v->c_str(), 1) : ::unsetenv(name.c_str());
    fs::remove_all(root_);
  }
  std::string dir(const std::string& name) const { return root_ + "/" + name; }
  std::string put(const std::string& root, const std::string& relative) const {
    const fs::path p = fs::path(root) / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << relative;
    return p.string();
  }
  std::string cache() const { return dir("home") + "/.cache/merino"; }

 private:
  std::string root_;
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(LookupEnv, roots_in_the_documented_order) {
  ::setenv("MERINO_DATA", dir("env").c_str(), 1);
  ::setenv("MERINO_SHARED_DATA", dir("shared").c_str(), 1);
  const std::vector<DataRoot> roots = data_roots(dir("flag"));
  ASSERT_EQ(roots.size(), 5u);
  const std::vector<std::pair<std::string, std::string>> expected = {{dir("flag"), "--data-dir"},
                                                                     {dir("env"), "$MERINO_DATA"},
                                                                     {kCommitted, "committed"},
                                                                     {cache(), "fetch cache"},
                                                                     {dir("shared"), "MERINO_SHARED_DATA"}};
  for (size_t i = 0; i < roots.size(); ++i) {
    EXPECT_EQ(roots[i].dir, expected[i].first) << i;
    EXPECT_EQ(roots[i].origin, expected[i].second) << i;
  }
}

TEST_F(LookupEnv, each_level_wins_over_the_next) {
  ::setenv("MERINO_DATA", dir("env").c_str(), 1);
  ::setenv("MERINO_SHARED_DATA", dir("shared").c_str(), 1);
  const std::string f = "wikitext-2-raw/wiki.test.raw";
  const std::string flag = put(dir("flag"), f), env = put(dir("env"), f), shared = put(dir("shared"), f);
  EXPECT_EQ(find_data_file(f, dir("flag")), flag);
  EXPECT_EQ(find_data_file(f), env);
  ::unsetenv("MERINO_DATA");
  EXPECT_EQ(find_data_file(f), shared);
  const std::string cached = put(cache(), f);
  EXPECT_EQ(find_data_file(f), cached);
  // the committed PTB wins over the cache and the shared data, but not over $MERINO_DATA
  put(cache(), "ptb/ptb.test.txt");
  EXPECT_EQ(find_data_file("ptb/ptb.test.txt"), kCommitted + "/ptb/ptb.test.txt");
  ::setenv("MERINO_DATA", dir("env").c_str(), 1);
  EXPECT_EQ(find_data_file("ptb/ptb.test.txt"), put(dir("env"), "ptb/ptb.test.txt"));
}

TEST_F(LookupEnv, fetch_cache_is_merino_data_else_home_cache) {
  EXPECT_EQ(fetch_cache_dir(), cache());
  ::setenv("MERINO_DATA", dir("env").c_str(), 1);
  EXPECT_EQ(fetch_cache_dir(), dir("env"));
  // $MERINO_DATA is then both level 2 and the cache: listed once
  EXPECT_EQ(data_roots().size(), 3u);  // $MERINO_DATA, committed, ~/.cache/merino
}

TEST_F(LookupEnv, missing_file_names_the_places_and_the_fetch) {
  ::setenv("MERINO_DATA", dir("env").c_str(), 1);
  try {
    require_data_file("wikitext-2-raw/wiki.valid.raw", "no/data");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()), "wikitext-2-raw/wiki.valid.raw: not found in no/data, " + dir("env") + ", " +
                                         kCommitted + ", " + cache() +
                                         "; run `merino fetch wikitext2` (docs/DATA.md)");
  }
  EXPECT_EQ(data_file_hint("tokenizers/neox-20b/tokenizer.json"), "run `merino fetch neox`");
  EXPECT_EQ(data_file_hint("zero-shot/boolq/val.jsonl"), "run `merino fetch boolq`");
  EXPECT_NE(data_file_hint("ptb/ptb.train.txt").find("git checkout -- datasets"), std::string::npos);
}

TEST_F(LookupEnv, a_directory_is_not_a_file) {
  fs::create_directories(dir("flag") + "/ptb/ptb.test.txt");
  EXPECT_EQ(find_data_file("ptb/ptb.test.txt", dir("flag")), kCommitted + "/ptb/ptb.test.txt");
}

}  // namespace
}  // namespace merino
