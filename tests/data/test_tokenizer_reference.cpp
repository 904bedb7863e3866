// Exactness: merino's ids must equal those of independent reference implementations.
//  - fixture (tests/data/fixtures/tokenizer_reference.json, from scripts/make_tokenizer_fixture.mjs):
//    GPT-2 ids from tiktoken, NeoX ids from HF tokenizers, on >= 200 varied texts;
//  - a textbook BPE (bench/textbook_bpe.h: encoder.py's loop, its own byte alphabet) on a slice
//    of WikiText-2, to cover far more words than the fixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/textbook_bpe.h"
#include "data/tokenizer/pretokenizer.h"
#include "data/tokenizer/utf8.h"
#include "tests/data/tokenizer_test_support.h"

namespace merino::test {
namespace {

struct Case {
  std::string name, text;
  bool allow_special = false;
  std::vector<int32_t> gpt2, neox;
};

const std::vector<Case>& fixture_cases() {
  static const std::vector<Case> cases = [] {
    std::ifstream f(MERINO_TOKENIZER_FIXTURE, std::ios::binary);
    if (!f) throw std::runtime_error(std::string("cannot open fixture ") + MERINO_TOKENIZER_FIXTURE);
    const nlohmann::json j = nlohmann::json::parse(f);
    std::vector<Case> out;
    for (const auto& c : j.at("cases")) {
      Case k;
      k.name = c.at("name").get<std::string>();
      k.text = c.at("text").get<std::string>();
      k.allow_special = c.at("allow_special").get<bool>();
      k.gpt2 = c.at("gpt2").get<std::vector<int32_t>>();
      k.neox = c.at("neox").get<std::vector<int32_t>>();
      out.push_back(std::move(k));
    }
    return out;
  }();
  return cases;
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? "," : "") << ids[i];
  return s.str();
}

TEST(TokenizerReference, FixtureIsLargeAndVaried) {
  const auto& cases = fixture_cases();
  EXPECT_GE(cases.size(), 200u);
  EXPECT_TRUE(std::any_of(cases.begin(), cases.end(), [](const Case& c) { return c.allow_special; }));
}

TEST(TokenizerReference, Gpt2IdsEqualTiktoken) {
  MERINO_GPT2_OR_SKIP(tok);
  size_t mismatches = 0;
  for (const Case& c : fixture_cases()) {
    const std::vector<int32_t> ids = tok->encode(c.text, c.allow_special);
    if (ids != c.gpt2 && ++mismatches <= 10) {
      ADD_FAILURE() << "case \"" << c.name << "\" (allow_special=" << c.allow_special << ")\n  merino:   " << show(ids)
                    << "\n  tiktoken: " << show(c.gpt2);
    }
    EXPECT_EQ(tok->decode(ids), c.text) << c.name;
  }
  EXPECT_EQ(mismatches, 0u) << "of " << fixture_cases().size() << " cases";
}

TEST(TokenizerReference, NeoxIdsEqualHfTokenizers) {
  MERINO_NEOX_OR_SKIP(tok);
  size_t mismatches = 0;
  for (const Case& c : fixture_cases()) {
    const std::vector<int32_t> ids = tok->encode(c.text, c.allow_special);
    if (ids != c.neox && ++mismatches <= 10) {
      ADD_FAILURE() << "case \"" << c.name << "\" (allow_special=" << c.allow_special << ")\n  merino: " << show(ids)
                    << "\n  HF:     " << show(c.neox);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << fixture_cases().size() << " cases";
}

TEST(TokenizerReference, HandCheckedIds) {
  MERINO_GPT2_OR_SKIP(gpt2);
  EXPECT_EQ(gpt2->vocab_size(), 50257);
  EXPECT_EQ(gpt2->eot_token(), 50256);
  EXPECT_EQ(gpt2->encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(gpt2->encode("<|endoftext|>", true), (std::vector<int32_t>{50256}));
  EXPECT_EQ(gpt2->encode("<|endoftext|>", false), (std::vector<int32_t>{27, 91, 437, 1659, 5239, 91, 29}));
  EXPECT_EQ(gpt2->decode({50256}), "<|endoftext|>");

  MERINO_NEOX_OR_SKIP(neox);
  EXPECT_EQ(neox->vocab_size(), 50277);
  EXPECT_EQ(neox->eot_token(), 0);
  EXPECT_EQ(neox->encode("Hello world"), (std::vector<int32_t>{12092, 1533}));
  EXPECT_EQ(neox->encode("<|endoftext|>", true), (std::vector<int32_t>{0}));
  EXPECT_EQ(neox->encode("a   b"), (std::vector<int32_t>{66, 50275, 67}));  // 3 spaces: added token 50275
  EXPECT_EQ(neox->decode({0, 1}), "<|endoftext|><|padding|>");
}

TEST(TokenizerReference, BatchEqualsSequentialForAnyThreadCount) {
  MERINO_GPT2_OR_SKIP(tok);
  std::vector<std::string> docs;
  std::vector<std::vector<int32_t>> expected;
  for (const Case& c : fixture_cases()) {
    docs.push_back(c.text);
    expected.push_back(tok->encode(c.text));
  }
  for (int threads : {1, 2, 3, 8}) EXPECT_EQ(tok->encode_batch(docs, threads), expected) << threads << " threads";
  EXPECT_TRUE(tok->encode_batch(std::vector<std::string>{}, 4).empty());
}

TEST(TokenizerReference, WikiTextSliceEqualsTextbookBpe) {
  MERINO_GPT2_OR_SKIP(tok);
  const std::optional<std::string> wiki = find_data_file("wikitext-2-raw/wiki.test.raw");
  if (!wiki) GTEST_SKIP() << "SKIPPED: run `merino fetch wikitext2`";
  std::ifstream f(*wiki, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  text.resize(std::min<size_t>(text.size(), 150000));
  text.resize(tok::utf8_valid_prefix(text));  // do not cut a character in half

  const reference::TextbookBpe textbook(gpt2_dir() + "/encoder.json", gpt2_dir() + "/vocab.bpe");
  const std::vector<int32_t> expected = textbook.encode(tok::Pretokenizer(), text);

  const std::vector<int32_t> ids = tok->encode(text);
  EXPECT_EQ(ids.size(), expected.size());
  EXPECT_TRUE(ids == expected) << "heap BPE and textbook BPE disagree on WikiText-2";
  EXPECT_EQ(tok->decode(ids), text);
}

}  // namespace
}  // namespace merino::test
