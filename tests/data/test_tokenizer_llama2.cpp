// The LLaMA-2-style tokenizer.json (BPE with byte fallback, Prepend/Replace "▁" normalizer):
// ids equal HF tokenizers' on tests/data/fixtures/tokenizer_llama2_reference.json (made by
// scripts/make_llama2_tokenizer_fixture.mjs: whitespace, emoji, CJK, bytes needing the fallback,
// PTB and WikiText-2 lines), and decode is the matching decoder's inverse.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/data_paths.h"
#include "data/tokenizer/named_tokenizer.h"
#include "tests/data/tokenizer_test_support.h"

namespace merino::test {
namespace {

const Tokenizer* llama2() {
  static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
    const std::optional<std::string> file = find_data_file("tokenizers/llama2/tokenizer.json");
    if (!file) return nullptr;
    return std::make_unique<Tokenizer>(Tokenizer::load_hf_json(*file));
  }();
  return tok.get();
}

#define REQUIRE_LLAMA2(var)                                     \
  const Tokenizer* var = llama2();                              \
  if (!var) GTEST_SKIP() << "SKIPPED: run `merino fetch llama2`"

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? "," : "") << ids[i];
  return s.str();
}

TEST(TokenizerLlama2, IdsEqualHfTokenizersOnTheFixture) {
  REQUIRE_LLAMA2(tok);
  std::ifstream f(MERINO_LLAMA2_FIXTURE, std::ios::binary);
  ASSERT_TRUE(f) << MERINO_LLAMA2_FIXTURE;
  const nlohmann::json j = nlohmann::json::parse(f);
  size_t checked = 0;
  for (const auto& c : j.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const auto want = c.at("ids").get<std::vector<int32_t>>();
    // HF matches special tokens written in the text even with add_special_tokens = false
    const std::vector<int32_t> got = tok->encode(text, /*allow_special=*/true);
    EXPECT_EQ(show(got), show(want)) << c.at("name").get<std::string>() << ": " << text;
    ++checked;
  }
  EXPECT_GE(checked, 250u);
}

TEST(TokenizerLlama2, ByteFallbackSpellsUnknownCharactersAsBytes) {
  REQUIRE_LLAMA2(tok);
  // U+20000 is not in the vocabulary: "▁" then the four <0xXX> tokens of F0 A0 80 80
  const std::vector<int32_t> ids = tok->encode("\xF0\xA0\x80\x80");
  ASSERT_EQ(ids.size(), 5u) << show(ids);
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(tok->token_bytes(ids[i]).size(), 1u);
  EXPECT_EQ(tok->decode(ids), "\xF0\xA0\x80\x80");
}

TEST(TokenizerLlama2, DecodeInvertsEncode) {
  REQUIRE_LLAMA2(tok);
  for (const std::string text : {"Hello, world!", "  two leading spaces", "tabs\tand\nnewlines ",
                                 "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80", "\xFF\xFE not UTF-8 \x80"})
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
}

TEST(TokenizerLlama2, SpecialTokensAreTextUnlessAllowedAndEndOfSequenceIsEot) {
  REQUIRE_LLAMA2(tok);
  EXPECT_EQ(tok->eot_token(), 2);  // </s>
  EXPECT_EQ(tok->vocab_size(), 32000);
  const std::vector<int32_t> allowed = tok->encode("</s>", true), text = tok->encode("</s>", false);
  EXPECT_EQ(allowed, std::vector<int32_t>{2});
  EXPECT_GT(text.size(), 1u);
}

TEST(TokenizerLlama2, NamedLlama2FindsTheFetchedFile) {
  REQUIRE_LLAMA2(tok);
  const NamedTokenizer named = load_named_tokenizer("llama2");
  EXPECT_EQ(named.tokenizer.encode("Hello"), tok->encode("Hello"));
}

}  // namespace
}  // namespace merino::test
