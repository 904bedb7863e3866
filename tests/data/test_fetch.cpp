// fetch_datasets (data/fetch.h) on file:// URLs, including the zip path the release of
// WikiText-2 takes: fixtures/fetch/two_files.zip holds d/a.txt ("first member\n") and d/b.txt
// ("second member\n"); the sha256 values below were computed with coreutils' sha256sum.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/errors.h"
#include "data/fetch.h"

namespace merino {
namespace {

namespace fs = std::filesystem;

const std::string kZip = MERINO_SOURCE_DIR "/tests/data/fixtures/fetch/two_files.zip";
const std::string kZipSha = "2408c18c20509fd590a755952da265ac07d64fa26200e01f73d8b48ce50e5f56";
const std::string kShaA = "3083e2395c57a8409c1f3e7f7f188a877f890a3ffa3acd1c73fdaabaf23aae2e";
const std::string kShaB = "ee730c5a2e41032d0c296b26b958ff26c81e710e7c30271184a4f5019aca4eff";

struct fetch : ::testing::Test {
  std::string dest;
  std::vector<std::string> log;
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "merino_fetch_XXXXXX").string();
    dest = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dest); }
  void run(const FetchDataset& d, const std::string& mirror = "") {
    fetch_datasets({d}, FetchOptions{dest, mirror}, [this](const std::string& line) { log.push_back(line); });
  }
  std::string read(const std::string& relative) const {
    std::ifstream in(dest + "/" + relative, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t files_in_dest() const {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dest)) n += e.is_regular_file();
    return n;
  }
};

FetchDataset zipped(const std::string& zip_sha = kZipSha, const std::string& sha_b = kShaB) {
  return {"two", "", "test", {{"x/a.txt", kShaA, "file://" + kZip, zip_sha, "d/a.txt"},
                              {"x/y/b.txt", sha_b, "file://" + kZip, zip_sha, "d/b.txt"}}};
}

TEST_F(fetch, zip_members_land_at_their_paths_and_are_not_fetched_twice) {
  run(zipped());
  EXPECT_EQ(read("x/a.txt"), "first member\n");
  EXPECT_EQ(read("x/y/b.txt"), "second member\n");
  EXPECT_EQ(files_in_dest(), 2u);  // the archive and the staging directory are gone
  log.clear();
  run(zipped());
  EXPECT_EQ(log, (std::vector<std::string>{"x/a.txt: present, sha256 ok", "x/y/b.txt: present, sha256 ok"}));
}

TEST_F(fetch, a_wrong_member_leaves_nothing_even_of_the_right_one) {
  try {
    run(zipped(kZipSha, std::string(64, '0')));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("x/y/b.txt: file://" + kZip + " member d/b.txt has sha256 " + kShaB),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(files_in_dest(), 0u);
}

TEST_F(fetch, a_wrong_archive_is_refused_before_extraction) {
  try {
    run(zipped(std::string(64, '1')));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("file://" + kZip + " has sha256 " + kZipSha), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in_dest(), 0u);
}

TEST_F(fetch, a_file_with_the_wrong_content_is_replaced) {
  fs::create_directories(dest + "/x");
  std::ofstream(dest + "/x/a.txt") << "stale";
  run(zipped());
  EXPECT_EQ(read("x/a.txt"), "first member\n");
}

TEST_F(fetch, mirror_serves_files_at_their_paths_instead_of_the_archive) {
  const std::string mirror = dest + "_mirror";
  fs::create_directories(mirror + "/x/y");
  std::ofstream(mirror + "/x/a.txt") << "first member\n";
  std::ofstream(mirror + "/x/y/b.txt") << "second member\n";
  FetchDataset d = zipped();
  for (FetchFile& f : d.files) f.url = "https://unreachable.invalid/never.zip";  // must not be used
  run(d, "file://" + mirror + "/");
  fs::remove_all(mirror);
  EXPECT_EQ(read("x/y/b.txt"), "second member\n");
  EXPECT_EQ(log.at(1), "x/y/b.txt: fetched from file://" + mirror + "/x/y/b.txt, sha256 ok");
}

TEST_F(fetch, a_missing_member_is_a_fetch_error_naming_it) {
  FetchDataset d = zipped();
  d.files[0].zip_member = "d/none.txt";
  try {
    run(d);
    FAIL();
  } catch (const FetchError& e) {
    EXPECT_NE(std::string(e.what()).find("x/a.txt: cannot extract file://" + kZip + " member d/none.txt"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(files_in_dest(), 0u);
}

}  // namespace
}  // namespace merino
