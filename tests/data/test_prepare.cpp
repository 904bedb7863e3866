// `merino prepare` as a library: shards decode back to the input documents each followed by
// <|endoftext|>, identical bytes for any thread count, resume after a crash without rewriting
// finished shards, the pile_set_name filter, and one clear error per kind of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "base/sha256.h"
#include "data/data_paths.h"
#include "data/manifest.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "data/text_cut.h"
#include "data_test_support.h"

namespace merino {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::ScratchDir;

const char* const kSets[] = {"Pile-CC", "Github", "Wikipedia (en)"};

struct Doc {
  std::string text, set;
};

// Documents with words, digits, punctuation, non-ASCII, blank lines, runs of spaces and a
// literal "<|endoftext|>" that must stay text, from a fixed seed.
std::vector<Doc> make_docs(int n) {
  static const char* const words[] = {"the", "merino", "sheep", " ", "  ", "\n", "\n\n", "naïve", "日本語", "42",
                                      "1,000", "it's", "<|endoftext|>", "\t", "{\"x\": 1}", "émigré", "!!", "a"};
  std::mt19937 rng(2024);
  std::vector<Doc> docs;
  for (int i = 0; i < n; ++i) {
    std::string text;
    const int len = 5 + int(rng() % 200);
    for (int w = 0; w < len; ++w) text += std::string(words[rng() % std::size(words)]) + (rng() % 3 ? " " : "");
    docs.push_back({text, kSets[i % 3]});
  }
  return docs;
}

std::string jsonl(const std::vector<Doc>& docs) {
  std::string out;
  for (const Doc& d : docs) out += json{{"text", d.text}, {"meta", {{"pile_set_name", d.set}}}}.dump() + "\n";
  return out;
}

// The stream prepare must produce: each document's tokens then end-of-text.
std::vector<int32_t> expected_stream(const Tokenizer& tok, const std::vector<Doc>& docs) {
  std::vector<int32_t> out;
  for (const Doc& d : docs) {
    const auto t = tok.encode(d.text);
    out.insert(out.end(), t.begin(), t.end());
    out.push_back(tok.eot_token());
  }
  return out;
}

struct Output {
  std::vector<int32_t> val, train;
  Manifest manifest;
};

Output read_output(const std::string& dir) {
  Output o;
  o.manifest = *read_manifest(dir + "/manifest.json");
  for (const ShardRecord& s : o.manifest.shards) {
    const std::string path = dir + "/" + s.file;
    EXPECT_EQ(sha256_file(path), s.sha256) << s.file;
    const auto t = test::read_all(ShardReader(path));
    EXPECT_EQ(t.size(), s.tokens) << s.file;
    auto& dst = s.split == "val" ? o.val : o.train;
    dst.insert(dst.end(), t.begin(), t.end());
  }
  return o;
}

PrepareOptions opts(std::vector<std::string> inputs, std::string out, uint64_t shard_tokens, uint64_t val_tokens) {
  PrepareOptions o;
  o.inputs = std::move(inputs);
  o.out_dir = std::move(out);
  o.tokenizer_name = "gpt2";
  o.shard_tokens = shard_tokens;
  o.val_tokens = val_tokens;
  o.threads = 2;
  return o;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

TEST(prepare, ShardsDecodeToDocumentsWithEndOfText) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const auto docs = make_docs(150);
  const std::string in = dir.write("pile.jsonl.zst", test::zstd_compress(jsonl(docs)));
  const PrepareResult r = prepare_shards(opts({in}, dir.path("out"), 1000, 2500), *tok);

  const Output out = read_output(dir.path("out"));
  std::vector<int32_t> all = out.val;
  all.insert(all.end(), out.train.begin(), out.train.end());
  EXPECT_EQ(all, expected_stream(*tok, docs));
  std::string text;
  for (const Doc& d : docs) text += d.text + "<|endoftext|>";
  EXPECT_EQ(tok->decode(all), text);

  // val: exactly 2500 tokens as 1000 + 1000 + 500; train: 1000 each but the last.
  ASSERT_EQ(out.val.size(), 2500u);
  ASSERT_GE(out.manifest.shards.size(), 5u);
  EXPECT_EQ(out.manifest.shards[0].file, "val_000000.bin");
  EXPECT_EQ(out.manifest.shards[2].file, "val_000002.bin");
  EXPECT_EQ(out.manifest.shards[2].tokens, 500u);
  EXPECT_EQ(out.manifest.shards[3].file, "train_000000.bin");
  for (size_t i = 3; i + 1 < out.manifest.shards.size(); ++i) EXPECT_EQ(out.manifest.shards[i].tokens, 1000u);
  EXPECT_TRUE(out.manifest.complete);
  EXPECT_EQ(out.manifest.documents, 150u);
  EXPECT_EQ(r.documents, 150u);
  EXPECT_EQ(r.val_tokens, 2500u);
  EXPECT_EQ(r.train_tokens + r.val_tokens, all.size());
  EXPECT_EQ(r.shards_written, out.manifest.shards.size());

  const json m = json::parse(test::read_file(dir.path("out/manifest.json")));
  EXPECT_EQ(m["settings"]["tokenizer"], (json{{"name", "gpt2"}, {"vocab_size", 50257}, {"eot_token", 50256}}));
  EXPECT_EQ(m["settings"]["sources"][0]["bytes"], fs::file_size(in));
  EXPECT_EQ(m["settings"]["sources"][0]["format"], "jsonl.zst");
  EXPECT_EQ(m["shards"][0]["shard_version"], 1);
  EXPECT_EQ(m["totals"]["val_tokens"], 2500);
}

TEST(prepare, SameBytesOnAnyThreadCount) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string in = dir.write("pile.jsonl", jsonl(make_docs(120)));
  const std::string text = dir.write("book.txt", test::read_file(in));  // the same bytes as one document
  std::vector<std::string> names;
  for (int threads : {1, 2, 5}) {
    PrepareOptions o = opts({in, text}, dir.path("t" + std::to_string(threads)), 4777, 1000);
    o.threads = threads;
    o.text_piece_bytes = 1000;
    prepare_shards(o, *tok);
    names.push_back(o.out_dir);
  }
  for (const auto& e : fs::directory_iterator(names[0])) {
    const std::string file = e.path().filename().string();
    for (size_t i = 1; i < names.size(); ++i)
      EXPECT_EQ(test::read_file(e.path().string()), test::read_file(names[i] + "/" + file)) << file;
  }
}

// A plain-text file is one document, tokenized in pieces that give exactly the whole file's ids.
TEST(prepare, TextFileIsOneDocumentWithTheWholeFilesTokens) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string path = test::datasets_dir() + "/ptb/ptb.valid.txt";
  PrepareOptions o = opts({path}, dir.path("out"), 100000, 0);
  o.text_piece_bytes = 4096;
  prepare_shards(o, *tok);
  const Output out = read_output(dir.path("out"));
  EXPECT_TRUE(out.val.empty());
  std::vector<int32_t> expected = tok->encode(test::read_file(path));
  expected.push_back(tok->eot_token());
  EXPECT_EQ(out.train, expected);
}

// The claim behind text pieces: at every cut find_safe_cut allows, encode(a + b) equals
// encode(a) + encode(b). Checked on real files and on random text built from the characters
// where GPT-2's pattern is delicate (spaces, newlines, Unicode spaces, letters, digits, quotes).
TEST(prepare_text_cut, CutsNeverChangeTokens) {
  MERINO_GPT2_OR_SKIP(tok);
  auto check = [&](const std::string& text, size_t step) {
    const auto whole = tok->encode(text);
    std::vector<int32_t> joined;
    size_t begin = 0, cuts = 0;
    for (;;) {
      const size_t cut = find_safe_cut(std::string_view(text).substr(begin), step);
      const std::string_view piece = std::string_view(text).substr(begin, cut);
      const auto t = tok->encode(piece);
      joined.insert(joined.end(), t.begin(), t.end());
      if (cut == std::string_view::npos) break;
      begin += cut;
      ++cuts;
    }
    EXPECT_EQ(joined, whole) << "after " << cuts << " cuts";
    return cuts;
  };
  // PTB is committed; the WikiText-2 files count where fetched (or in the shared data)
  for (const char* file : {"ptb/ptb.valid.txt", "wikitext-2-raw/wiki.valid.raw", "wikitext-2/wiki.valid.tokens"}) {
    if (const std::optional<std::string> path = find_data_file(file)) {
      EXPECT_GT(check(test::read_file(*path), 1), 1000u) << file;
    }
  }
  static const char* const parts[] = {" ", "  ", "\n", "\n\n", " \n", "\t", "\r\n", "a", "bc", "Z", "7", "'s", "'", ".",
                                      "\xc2\xa0" /* NBSP */, "\xe3\x80\x80" /* ideographic space */, "é", "\xcc\x81"};
  std::mt19937 rng(7);
  size_t cuts = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int n = 1 + int(rng() % 40);
    for (int k = 0; k < n; ++k) s += parts[rng() % std::size(parts)];
    cuts += check(s, 1);
  }
  EXPECT_GT(cuts, 300u);
}

TEST(prepare, FilterByPileSetName) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const auto docs = make_docs(60);
  const std::string in = dir.write("pile.jsonl.zst", test::zstd_compress(jsonl(docs)));
  PrepareOptions o = opts({in}, dir.path("out"), 100000, 0);
  o.pile_sets = {"Github", "Wikipedia (en)"};
  const PrepareResult r = prepare_shards(o, *tok);
  std::vector<Doc> kept;
  for (const Doc& d : docs)
    if (d.set != "Pile-CC") kept.push_back(d);
  EXPECT_EQ(read_output(dir.path("out")).train, expected_stream(*tok, kept));
  EXPECT_EQ(r.documents, 40u);
  EXPECT_EQ(r.filtered, 20u);
}

std::map<std::string, fs::file_time_type> mtimes(const std::string& dir) {
  std::map<std::string, fs::file_time_type> m;
  for (const auto& e : fs::directory_iterator(dir)) m[e.path().filename().string()] = e.last_write_time();
  return m;
}

// Re-running a finished directory verifies and rewrites nothing.
TEST(prepare, SecondRunRewritesNothing) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string in = dir.write("pile.jsonl.zst", test::zstd_compress(jsonl(make_docs(80))));
  const PrepareOptions o = opts({in}, dir.path("out"), 1500, 1000);
  const PrepareResult first = prepare_shards(o, *tok);
  const auto before = mtimes(o.out_dir);
  const PrepareResult second = prepare_shards(o, *tok);
  EXPECT_TRUE(second.already_complete);
  EXPECT_EQ(second.shards_written, 0u);
  EXPECT_EQ(second.shards_kept, first.shards_written);
  EXPECT_EQ(second.train_tokens, first.train_tokens);
  EXPECT_EQ(second.documents, first.documents);
  EXPECT_EQ(mtimes(o.out_dir), before);
}

// A crash after k shards (manifest lists k, later files missing or half-written) resumes at
// shard k, mid-document, and ends with bytes identical to an uninterrupted run.
void check_resume(const Tokenizer& tok, const ScratchDir& dir, const std::vector<std::string>& inputs,
                  size_t text_piece_bytes) {
  PrepareOptions o = opts(inputs, dir.path("full"), 700, 900);
  o.text_piece_bytes = text_piece_bytes;
  const PrepareResult full = prepare_shards(o, tok);
  ASSERT_GE(full.shards_written, 6u);

  for (size_t keep : {size_t(0), size_t(1), size_t(2), size_t(4), size_t(full.shards_written - 1)}) {
    const std::string out = dir.path("resumed" + std::to_string(keep));
    fs::copy(o.out_dir, out);
    Manifest m = *read_manifest(out + "/manifest.json");
    for (size_t i = keep; i < m.shards.size(); ++i) fs::remove(out + "/" + m.shards[i].file);
    m.shards.resize(keep);
    m.complete = false;
    write_manifest(out + "/manifest.json", m);
    std::ofstream(out + "/train_000009.bin.tmp.a1B2c3") << "half a shard";
    const auto before = mtimes(out);

    PrepareOptions again = o;
    again.out_dir = out;
    const PrepareResult r = prepare_shards(again, tok);
    EXPECT_EQ(r.shards_kept, keep);
    EXPECT_EQ(r.shards_written, full.shards_written - keep);
    EXPECT_EQ(r.documents, full.documents);
    EXPECT_FALSE(fs::exists(out + "/train_000009.bin.tmp.a1B2c3"));
    const auto after = mtimes(out);
    for (size_t i = 0; i < keep; ++i) EXPECT_EQ(after.at(m.shards[i].file), before.at(m.shards[i].file));
    for (const auto& e : fs::directory_iterator(o.out_dir)) {
      const std::string file = e.path().filename().string();
      EXPECT_EQ(test::read_file(out + "/" + file), test::read_file(e.path().string())) << "keep " << keep << ": " << file;
    }
  }
}

TEST(prepare, ResumesAfterACrashWithIdenticalBytes) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string a = dir.write("a.jsonl.zst", test::zstd_compress(jsonl(make_docs(20))));
  const std::string b = dir.write("b.txt", jsonl(make_docs(15)));  // text: cut into pieces
  const std::string c = dir.write("c.jsonl", jsonl(make_docs(12)));
  check_resume(*tok, dir, {a, b, c}, 500);
}

TEST(prepare, CorruptShardIsRewrittenFromThere) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string in = dir.write("pile.jsonl", jsonl(make_docs(60)));
  const PrepareOptions o = opts({in}, dir.path("out"), 1000, 0);
  const PrepareResult first = prepare_shards(o, *tok);
  ASSERT_GE(first.shards_written, 4u);
  const std::string victim = o.out_dir + "/train_000002.bin";
  const std::string good = test::read_file(victim);
  std::string bad = good;
  bad[2000] ^= 1;
  { std::ofstream(victim, std::ios::binary | std::ios::trunc) << bad; }
  const PrepareResult second = prepare_shards(o, *tok);
  EXPECT_EQ(second.shards_kept, 2u);
  EXPECT_EQ(second.shards_written, first.shards_written - 2);
  EXPECT_EQ(test::read_file(victim), good);
}

TEST(prepare_errors, MalformedLineNamesFileAndLineAndKeepsFinishedShards) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  std::string lines = jsonl(make_docs(60));
  lines += "{\"text\": \"unterminated\n";
  lines += jsonl(make_docs(3));
  const std::string in = dir.write("bad.jsonl.zst", test::zstd_compress(lines));
  const std::string err = error_of([&] { prepare_shards(opts({in}, dir.path("out"), 1000, 0), *tok); });
  EXPECT_NE(err.find(in + ":61: malformed JSON"), std::string::npos) << err;
  // The shards finished before the error are listed and intact; the manifest is not complete.
  const Manifest m = *read_manifest(dir.path("out/manifest.json"));
  EXPECT_FALSE(m.complete);
  EXPECT_GE(m.shards.size(), 1u);
  for (const ShardRecord& s : m.shards) EXPECT_EQ(sha256_file(dir.path("out/" + s.file)), s.sha256);
}

TEST(prepare_errors, MissingTextNamesFileAndLine) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string in = dir.write("x.jsonl", "{\"text\": \"fine\"}\n\n{\"meta\": {}}\n");
  const std::string err = error_of([&] { prepare_shards(opts({in}, dir.path("out"), 1000, 0), *tok); });
  EXPECT_NE(err.find(in + ":3: no \"text\" string"), std::string::npos) << err;
}

TEST(prepare_errors, SkipBadLinesCountsThem) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const auto docs = make_docs(10);
  std::string lines = jsonl({docs.begin(), docs.begin() + 5});
  lines += "not json\n{\"text\": 5}\n[1]\n";
  lines += jsonl({docs.begin() + 5, docs.end()});
  const std::string in = dir.write("x.jsonl", lines);
  PrepareOptions o = opts({in}, dir.path("out"), 100000, 0);
  o.skip_bad_lines = true;
  const PrepareResult r = prepare_shards(o, *tok);
  EXPECT_EQ(r.bad_lines, 3u);
  EXPECT_EQ(r.documents, 10u);
  EXPECT_EQ(read_output(o.out_dir).train, expected_stream(*tok, docs));
}

TEST(prepare_errors, TruncatedAndCorruptZstd) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string z = test::zstd_compress(jsonl(make_docs(40)));
  const std::string cut = dir.write("cut.jsonl.zst", z.substr(0, z.size() - 10));
  std::string err = error_of([&] { prepare_shards(opts({cut}, dir.path("o1"), 1000, 0), *tok); });
  EXPECT_NE(err.find(cut + ": truncated zstd stream"), std::string::npos) << err;
  const std::string junk = dir.write("junk.jsonl.zst", "this is not zstd at all");
  err = error_of([&] { prepare_shards(opts({junk}, dir.path("o2"), 1000, 0), *tok); });
  EXPECT_NE(err.find(junk + ": corrupt zstd data"), std::string::npos) << err;
}

TEST(prepare_errors, RefusesToMixRunsOrOverwriteForeignShards) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string in = dir.write("x.jsonl", jsonl(make_docs(10)));
  prepare_shards(opts({in}, dir.path("out"), 1000, 0), *tok);
  std::string err = error_of([&] { prepare_shards(opts({in}, dir.path("out"), 999, 0), *tok); });
  EXPECT_NE(err.find("other settings (`shard_tokens` differs)"), std::string::npos) << err;

  fs::create_directories(dir.path("foreign"));
  write_shard(dir.path("foreign/train_000000.bin"), {1, 2, 3});
  err = error_of([&] { prepare_shards(opts({in}, dir.path("foreign"), 1000, 0), *tok); });
  EXPECT_NE(err.find("holds shard files but no manifest.json"), std::string::npos) << err;
}

TEST(prepare_errors, BadInputsAndSettings) {
  MERINO_GPT2_OR_SKIP(tok);
  ScratchDir dir;
  const std::string text = dir.write("a.txt", "hello\n");
  const std::string json_in = dir.write("b.jsonl", jsonl(make_docs(3)));
  EXPECT_NE(error_of([&] { prepare_shards(opts({dir.path("none.jsonl")}, dir.path("o"), 10, 0), *tok); })
                .find("none.jsonl: no such input file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { prepare_shards(opts({dir.write("c.csv", "x")}, dir.path("o"), 10, 0), *tok); })
                .find("c.csv: unknown input type"),
            std::string::npos);
  PrepareOptions o = opts({json_in, text}, dir.path("o"), 10, 0);
  o.pile_sets = {"Github"};
  EXPECT_NE(error_of([&] { prepare_shards(o, *tok); }).find("a.txt: a pile_set_name filter applies only"),
            std::string::npos);
  o.inputs = {json_in};
  o.pile_sets = {"NoSuchSet"};
  EXPECT_NE(error_of([&] { prepare_shards(o, *tok); }).find("no documents from the requested --pile-set"),
            std::string::npos);
  EXPECT_NE(error_of([&] { prepare_shards(opts({text}, dir.path("o3"), 0, 0), *tok); }).find("shard tokens must be"),
            std::string::npos);
}

}  // namespace
}  // namespace merino
