// Unit tests of the pieces behind the tokenizer: byte alphabet, UTF-8 rules (checked against
// PCRE2's own validator), the pre-tokenizer pattern, the BPE merge order, the word cache and
// added-token matching.
#include <gtest/gtest.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <random>
#include <string>
#include <vector>

#include "data/tokenizer/added_tokens.h"
#include "data/tokenizer/bpe_merge.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/pretokenizer.h"
#include "data/tokenizer/utf8.h"
#include "data/tokenizer/word_cache.h"

namespace merino::tok {
namespace {

TEST(ByteLevel, MatchesGpt2Table) {
  EXPECT_EQ(byte_to_codepoint(' '), 0x120u);   // 'Ġ'
  EXPECT_EQ(byte_to_codepoint('\n'), 0x10Au);  // 'Ċ'
  EXPECT_EQ(byte_to_codepoint(0), 0x100u);
  EXPECT_EQ(byte_to_codepoint('A'), uint32_t{'A'});
  EXPECT_EQ(byte_to_codepoint(0xAD), 0x143u);  // soft hyphen is the last shifted byte
  EXPECT_EQ(byte_to_codepoint(0xFF), 0xFFu);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  ASSERT_TRUE(symbols_to_bytes(bytes_to_symbols(all), back));
  EXPECT_EQ(back, all);
}

TEST(ByteLevel, RejectsCharactersOutsideTheAlphabet) {
  std::string out;
  EXPECT_TRUE(symbols_to_bytes("\xC5\x83", out));   // U+0143, the last alphabet character
  EXPECT_FALSE(symbols_to_bytes("\xC5\x84", out));  // U+0144
  EXPECT_FALSE(symbols_to_bytes(" ", out));         // a raw space is spelled 'Ġ', never ' '
  EXPECT_FALSE(symbols_to_bytes("\xFF", out));      // not UTF-8
}

// PCRE2's validator is the authority the pre-tokenizer relies on.
bool pcre2_says_valid(const std::string& s) {
  static pcre2_code* code = [] {
    int err;
    PCRE2_SIZE off;
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>("x"), 1, PCRE2_UTF, &err, &off, nullptr);
  }();
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr);
  pcre2_match_data_free(md);
  return !(rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21);
}

TEST(Utf8, AgreesWithPcre2OnRandomBytes) {
  std::mt19937 rng(5);
  // Bytes drawn mostly from lead/continuation ranges so that many sequences are near-valid.
  const std::vector<int> interesting = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                                        0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<size_t> pick(0, interesting.size() - 1), len(0, 6);
  for (int i = 0; i < 200000; ++i) {
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(interesting[pick(rng)]);
    ASSERT_EQ(utf8_valid_prefix(s) == s.size(), pcre2_says_valid(s)) << "case " << i;
  }
}

TEST(Utf8, DecodesAndEncodes) {
  uint32_t cp = 0;
  EXPECT_EQ(utf8_decode(reinterpret_cast<const unsigned char*>("\xF0\x9F\x98\x80"), 4, cp), 4u);
  EXPECT_EQ(cp, 0x1F600u);
  std::string s;
  utf8_append(0x1F600, s);
  EXPECT_EQ(s, "\xF0\x9F\x98\x80");
  EXPECT_EQ(utf8_valid_prefix("abc\xE2\x82"), 3u);
  EXPECT_EQ(utf8_valid_prefix(std::string(100, 'a') + "\xC0"), 100u);
}

std::vector<std::string> pieces(const std::string& text) {
  static const Pretokenizer pre;
  Pretokenizer::Scratch scratch(pre);
  std::vector<Pretokenizer::Span> spans;
  pre.split(text, scratch, spans);
  std::vector<std::string> out;
  for (const auto& [b, e] : spans) out.push_back(text.substr(b, e - b));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(Pretokenizer, Gpt2Pattern) {
  EXPECT_EQ(pieces("Hello world's  test\n\n"), (Pieces{"Hello", " world", "'s", " ", " test", "\n\n"}));
  EXPECT_EQ(pieces("I'M 'll"), (Pieces{"I", "'", "M", " '", "ll"}));  // case-sensitive contractions
  EXPECT_EQ(pieces("x   "), (Pieces{"x", "   "}));                      // trailing run stays whole
  EXPECT_EQ(pieces("a1234 ..."), (Pieces{"a", "1234", " ..."}));
  EXPECT_EQ(pieces("\xE4\xBD\xA0\xE5\xA5\xBD!"), (Pieces{"\xE4\xBD\xA0\xE5\xA5\xBD", "!"}));  // 你好!
  EXPECT_EQ(pieces(""), Pieces{});
}

TEST(Pretokenizer, WhitespaceIsUnicodeWhiteSpace) {
  // U+0085 is White_Space (as in Python regex, Rust regex, Oniguruma) though PCRE2's \s omits it.
  EXPECT_EQ(pieces(" \xC2\x85x"), (Pieces{" ", "\xC2\x85", "x"}));
  // U+200B and U+FEFF are not White_Space.
  EXPECT_EQ(pieces("a\xE2\x80\x8B b"), (Pieces{"a", "\xE2\x80\x8B", " b"}));
  // Only an ASCII space joins the next word; other White_Space stands alone (U+3000 here).
  EXPECT_EQ(pieces("a\xE3\x80\x80\xE3\x80\x80" "b"), (Pieces{"a", "\xE3\x80\x80", "\xE3\x80\x80", "b"}));
}

TEST(BpeMerge, LowestRankFirstAndLeftmostAmongEqualRanks) {
  int32_t byte_token[256];
  for (int b = 0; b < 256; ++b) byte_token[b] = b;
  MergeTable merges;
  merges.set('a', 'a', {0, 300});   // "aa"
  merges.set(300, 300, {1, 301});   // "aaaa"
  merges.set('a', 'b', {2, 302});   // "ab": ranked after "aa"
  BpeScratch scratch;
  auto run = [&](const std::string& piece) {
    std::vector<int32_t> out;
    bpe_merge(piece, byte_token, merges, scratch, out);
    return out;
  };
  EXPECT_EQ(run("aaa"), (std::vector<int32_t>{300, 'a'}));  // leftmost pair wins the tie
  EXPECT_EQ(run("aaaaa"), (std::vector<int32_t>{301, 'a'}));
  EXPECT_EQ(run("aab"), (std::vector<int32_t>{300, 'b'}));  // "aa" (rank 0) beats "ab" (rank 2)
  EXPECT_EQ(run("bab"), (std::vector<int32_t>{'b', 302}));
  EXPECT_EQ(run("z"), (std::vector<int32_t>{'z'}));
  EXPECT_EQ(merges.size(), 3u);
  merges.set('a', 'b', {5, 303});  // replacing keeps the size
  EXPECT_EQ(merges.size(), 3u);
  EXPECT_EQ(merges.find('a', 'b')->merged, 303);
  EXPECT_EQ(merges.find('b', 'a'), nullptr);
}

TEST(WordCache, StoresBoundedAndSkipsLongPieces) {
  WordCache cache(/*max_entries=*/3, /*max_piece_bytes=*/8);
  std::vector<int32_t> out;
  EXPECT_FALSE(cache.lookup("the", out));
  const int32_t ids[] = {1, 2};
  cache.insert("the", ids, 2);
  ASSERT_TRUE(cache.lookup("the", out));
  EXPECT_EQ(out, (std::vector<int32_t>{1, 2}));
  cache.insert("a", ids, 1);
  cache.insert("b", ids, 1);
  EXPECT_EQ(cache.size(), 3u);
  cache.insert("c", ids, 1);  // full: emptied, then c added
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.lookup("the", out));
  cache.insert("a-very-long-piece", ids, 2);
  EXPECT_FALSE(cache.lookup("a-very-long-piece", out));
  for (int i = 0; i < 1000; ++i) {  // growth past the initial table keeps entries findable
    WordCache big;
    const int32_t v = i;
    big.insert(std::to_string(i), &v, 1);
    out.clear();
    ASSERT_TRUE(big.lookup(std::to_string(i), out));
    EXPECT_EQ(out[0], i);
  }
}

TEST(WordCache, ManyEntries) {
  WordCache cache;
  for (int32_t i = 0; i < 5000; ++i) cache.insert("w" + std::to_string(i), &i, 1);
  std::vector<int32_t> out;
  for (int32_t i = 0; i < 5000; ++i) ASSERT_TRUE(cache.lookup("w" + std::to_string(i), out));
  ASSERT_EQ(out.size(), 5000u);
  for (int32_t i = 0; i < 5000; ++i) EXPECT_EQ(out[i], i);
}

TEST(AddedTokens, LeftmostLongest) {
  LiteralMatcher m;
  m.add("  ", 2);
  m.add("   ", 3);
  m.add("<|x|>", 9);
  std::vector<std::string> parts;
  split_on_literals(
      "a     b<|x|><|x", m, [&](std::string_view t) { parts.push_back("T:" + std::string(t)); },
      [&](int32_t id) { parts.push_back("#" + std::to_string(id)); });
  EXPECT_EQ(parts, (std::vector<std::string>{"T:a", "#3", "#2", "T:b", "#9", "T:<|x"}));
}

}  // namespace
}  // namespace merino::tok
