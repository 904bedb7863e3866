// Streaming decoded text: a multi-byte character split over tokens is printed once complete, the
// prompt is never printed, and the pieces add up to the decoded continuation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/tokenizer/tokenizer.h"
#include "generate/text_stream.h"

namespace merino::generate {
namespace {

TEST(CompleteUtf8Prefix, CutsOnlyAnIncompleteLastCharacter) {
  EXPECT_EQ(complete_utf8_prefix(""), 0u);
  EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
  EXPECT_EQ(complete_utf8_prefix("a\xE2\x82\xAC"), 4u);  // a€
  EXPECT_EQ(complete_utf8_prefix("a\xE2\x82"), 1u);
  EXPECT_EQ(complete_utf8_prefix("a\xE2"), 1u);
  EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98\x80"), 4u);  // an emoji
  EXPECT_EQ(complete_utf8_prefix("x\xF0\x9F\x98"), 1u);
  EXPECT_EQ(complete_utf8_prefix("\xC3\xA9"), 2u);  // é
  EXPECT_EQ(complete_utf8_prefix("\xC3"), 0u);
  // stray continuation bytes and bytes that never start a character are passed on
  EXPECT_EQ(complete_utf8_prefix("a\x82"), 2u);
  EXPECT_EQ(complete_utf8_prefix("a\xFF"), 2u);
}

const Tokenizer& gpt2() {
  static const Tokenizer tok =
      Tokenizer::load_gpt2(MERINO_SOURCE_DIR "/datasets/tokenizers/gpt2/encoder.json",
                           MERINO_SOURCE_DIR "/datasets/tokenizers/gpt2/vocab.bpe");
  return tok;
}

// GPT-2 encodes a byte that is not part of well-formed UTF-8 as its own single-byte token
int32_t byte_token(char b) {
  const std::vector<int32_t> ids = gpt2().encode(std::string(1, b));
  EXPECT_EQ(ids.size(), 1u);
  return ids.at(0);
}

TEST(TextStream, HoldsASplitCharacterUntilItIsComplete) {
  TextStream s(gpt2(), gpt2().encode("Price:"));
  EXPECT_EQ(s.push(gpt2().encode(" 5")[0]), " 5");
  EXPECT_EQ(s.push(byte_token('\xE2')), "");
  EXPECT_EQ(s.push(byte_token('\x82')), "");
  EXPECT_EQ(s.push(byte_token('\xAC')), "\xE2\x82\xAC");
  EXPECT_EQ(s.finish(), "");
}

TEST(TextStream, FinishHandsOutAnIncompleteTail) {
  TextStream s(gpt2(), gpt2().encode("a"));
  EXPECT_EQ(s.push(byte_token('\xF0')), "");
  EXPECT_EQ(s.finish(), "\xF0");
}

TEST(TextStream, PiecesAddUpToTheContinuation) {
  const std::string text = " naïve café — 東京 😀 done";
  const std::vector<int32_t> prompt = gpt2().encode("Hello");
  TextStream s(gpt2(), prompt);
  std::string out;
  for (int32_t t : gpt2().encode(text)) {
    const std::string piece = s.push(t);
    EXPECT_EQ(complete_utf8_prefix(piece), piece.size());
    out += piece;
  }
  out += s.finish();
  EXPECT_EQ(out, text);
}

}  // namespace
}  // namespace merino::generate
