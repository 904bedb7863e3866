// datasets/fetch.json as compiled in: well formed, its sha256 values the ones the shared data's
// SHA256SUMS publishes (an independent list; skipped without it), names and groups resolve; and
// the parser refuses what could write outside a data root or could not be verified.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/errors.h"
#include "data/data_paths.h"
#include "data/fetch_manifest.h"

namespace merino {
namespace {

TEST(fetch_manifest, built_in_manifest_covers_what_is_not_committed) {
  const std::vector<FetchDataset>& m = fetch_manifest();
  std::set<std::string> names, paths;
  for (const FetchDataset& d : m) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    for (const FetchFile& f : d.files) EXPECT_TRUE(paths.insert(f.path).second) << f.path;
  }
  for (const char* name : {"wikitext2", "neox", "llama2", "arc_easy", "lambada_openai", "piqa"})
    EXPECT_TRUE(names.count(name)) << name;
  EXPECT_EQ(paths.size(), 2u + 1u + 2u + 14u);  // WikiText-2, NeoX, LLaMA-2, the zero-shot files
  EXPECT_EQ(dataset_for_path("wikitext-2-raw/wiki.test.raw")->name, "wikitext2");
  EXPECT_EQ(dataset_for_path("ptb/ptb.test.txt"), nullptr);  // committed
}

TEST(fetch_manifest, sha256_values_match_the_shared_datas_list) {
  std::ifstream sums(MERINO_DEFAULT_SHARED_DATA "/SHA256SUMS");
  if (!sums) GTEST_SKIP() << "no shared data SHA256SUMS at " MERINO_DEFAULT_SHARED_DATA;
  std::map<std::string, std::string> published;
  for (std::string sha, path; sums >> sha >> path;) published[path] = sha;
  for (const FetchDataset& d : fetch_manifest())
    for (const FetchFile& f : d.files) {
      ASSERT_TRUE(published.count(f.path)) << f.path;
      EXPECT_EQ(f.sha256, published[f.path]) << f.path;
    }
}

TEST(fetch_manifest, names_and_groups_select_datasets) {
  EXPECT_EQ(select_datasets({"zero-shot"}).size(), 12u);
  const std::vector<FetchDataset> two = select_datasets({"neox", "wikitext2", "neox"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].name, "wikitext2");  // manifest order, each once
  EXPECT_EQ(two[1].name, "neox");
  EXPECT_THROW(select_datasets({"wikitext103"}), DataError);
}

std::string error_of(const std::string& json) {
  try {
    parse_fetch_manifest(json, "m.json");
  } catch (const DataError& e) {
    return e.what();
  }
  return "no error";
}

TEST(fetch_manifest, parser_refuses_unsafe_or_unverifiable_entries) {
  const std::string sha(64, 'a');
  auto one = [&](const std::string& file) {
    return R"({"datasets": [{"name": "x", "about": "y", "files": [)" + file + "]}]}";
  };
  EXPECT_EQ(parse_fetch_manifest(one(R"({"path": "a/b.txt", "sha256": ")" + sha + R"(", "url": "file:///b"})"), "m.json")
                .at(0).files.at(0).path,
            "a/b.txt");
  EXPECT_EQ(error_of(one(R"({"path": "../b.txt", "sha256": ")" + sha + R"(", "url": "u"})")),
            "m.json: dataset x ../b.txt: the path must be relative, without \"..\"");
  EXPECT_EQ(error_of(one(R"({"path": "/etc/b", "sha256": ")" + sha + R"(", "url": "u"})")),
            "m.json: dataset x /etc/b: the path must be relative, without \"..\"");
  EXPECT_EQ(error_of(one(R"({"path": "b", "sha256": "ABC", "url": "u"})")),
            "m.json: dataset x b: \"ABC\" is not a lowercase hex sha256");
  EXPECT_EQ(error_of(one(R"({"path": "b", "url": "u"})")), "m.json: dataset x b: missing \"sha256\"");
  EXPECT_EQ(error_of(R"({"datasets": [{"name": "x", "about": "y", "files": []}]})"),
            "m.json: dataset x: \"files\" must be a non-empty array");
  EXPECT_EQ(error_of("{").rfind("m.json: malformed JSON", 0), 0u);
}

}  // namespace
}  // namespace merino
