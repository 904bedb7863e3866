// Bad vocabulary files must fail loudly, with the file and the problem in the message.
#include <gtest/gtest.h>

#include <string>

#include "tests/data/tokenizer_test_support.h"

namespace merino::test {
namespace {

// Runs f, expecting std::runtime_error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << *parts.begin();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "\"" << p << "\" not in: " << msg;
  }
}

class Gpt2FileErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = mini_vocab({{"h", "e"}, {"l", "l"}, {"he", "ll"}});
    encoder_ = dir_.write("encoder.json", v_.encoder.dump());
    bpe_ = dir_.write("vocab.bpe", v_.vocab_bpe);
  }
  void load() { Tokenizer::load_gpt2(encoder_, bpe_); }
  ScratchDir dir_;
  MiniVocab v_;
  std::string encoder_, bpe_;
};

TEST_F(Gpt2FileErrors, ValidMiniVocabularyLoads) {
  const Tokenizer t = Tokenizer::load_gpt2(encoder_, bpe_);
  EXPECT_EQ(t.vocab_size(), 259);
  EXPECT_EQ(t.eot_token(), -1);
  EXPECT_EQ(t.encode("hello"), (std::vector<int32_t>{258, 'o'}));
}

TEST_F(Gpt2FileErrors, MissingEncoderJson) {
  const std::string missing = dir_.path("nope/encoder.json");
  expect_error([&] { Tokenizer::load_gpt2(missing, bpe_); }, {missing, "cannot open"});
}

TEST_F(Gpt2FileErrors, MissingVocabBpe) {
  const std::string missing = dir_.path("vocab-missing.bpe");
  expect_error([&] { Tokenizer::load_gpt2(encoder_, missing); }, {missing, "cannot open"});
}

TEST_F(Gpt2FileErrors, TruncatedEncoderJson) {
  const std::string dumped = v_.encoder.dump();
  dir_.write("encoder.json", dumped.substr(0, dumped.size() / 2));
  expect_error([&] { load(); }, {encoder_, "not valid JSON"});
}

TEST_F(Gpt2FileErrors, EmptyEncoderJson) {
  dir_.write("encoder.json", "");
  expect_error([&] { load(); }, {encoder_, "empty"});
}

TEST_F(Gpt2FileErrors, EncoderJsonNotAnObject) {
  dir_.write("encoder.json", "[1, 2, 3]");
  expect_error([&] { load(); }, {encoder_, "must be a JSON object"});
}

TEST_F(Gpt2FileErrors, NonIntegerId) {
  v_.encoder["he"] = "256";
  dir_.write("encoder.json", v_.encoder.dump());
  expect_error([&] { load(); }, {encoder_, "\"he\"", "not an integer"});
}

TEST_F(Gpt2FileErrors, NegativeId) {
  v_.encoder["he"] = -5;
  dir_.write("encoder.json", v_.encoder.dump());
  expect_error([&] { load(); }, {encoder_, "-5", "outside"});
}

TEST_F(Gpt2FileErrors, DuplicateId) {
  v_.encoder["he"] = 7;
  dir_.write("encoder.json", v_.encoder.dump());
  expect_error([&] { load(); }, {encoder_, "id 7 is used by both"});
}

TEST_F(Gpt2FileErrors, MissingByteToken) {
  v_.encoder.erase("\xC4\x80");  // "Ā", the spelling of byte 0x00
  dir_.write("encoder.json", v_.encoder.dump());
  expect_error([&] { load(); }, {encoder_, "no token for byte 0x00"});
}

TEST_F(Gpt2FileErrors, MalformedMergeLine) {
  dir_.write("vocab.bpe", "#version: 0.2\nh e\nl l extra\n");
  expect_error([&] { load(); }, {bpe_, "line 3", "two tokens separated by one space"});
}

TEST_F(Gpt2FileErrors, MergeOfUnknownToken) {
  dir_.write("vocab.bpe", "#version: 0.2\nh e\nhe zz\n");
  expect_error([&] { load(); }, {bpe_, "line 3", "\"zz\" is not in the vocabulary", encoder_});
}

TEST_F(Gpt2FileErrors, MergeResultNotInVocabulary) {
  dir_.write("vocab.bpe", "#version: 0.2\nh e\nx y\n");
  expect_error([&] { load(); }, {bpe_, "line 3", "result \"xy\" is not in the vocabulary"});
}

TEST_F(Gpt2FileErrors, NoMerges) {
  dir_.write("vocab.bpe", "#version: 0.2\n");
  expect_error([&] { load(); }, {bpe_, "contains no merges"});
}

TEST_F(Gpt2FileErrors, SwappedFiles) {
  expect_error([&] { Tokenizer::load_gpt2(bpe_, encoder_); }, {bpe_, "not valid JSON"});
}

class HfFileErrors : public ::testing::Test {
 protected:
  void SetUp() override { v_ = mini_vocab({{"h", "e"}, {"l", "l"}, {"he", "ll"}}); }
  void expect_load_error(std::initializer_list<std::string> parts) {
    const std::string path = dir_.write("tokenizer.json", v_.hf.dump());
    std::vector<std::string> all(parts);
    all.push_back(path);
    try {
      Tokenizer::load_hf_json(path);
      ADD_FAILURE() << "no exception; expected one mentioning " << *parts.begin();
    } catch (const std::runtime_error& e) {
      for (const std::string& p : all) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << p << " not in: " << e.what();
    }
  }
  ScratchDir dir_;
  MiniVocab v_;
};

TEST_F(HfFileErrors, ValidMiniVocabularyMatchesGpt2Format) {
  v_.hf["added_tokens"] = {{{"id", 259}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}};
  const Tokenizer hf = Tokenizer::load_hf_json(dir_.write("tokenizer.json", v_.hf.dump()));
  const Tokenizer g2 = Tokenizer::load_gpt2(dir_.write("encoder.json", v_.encoder.dump()), dir_.write("vocab.bpe", v_.vocab_bpe));
  for (const char* text : {"hello", "hell he ll  hehe\n", "\xFF"}) EXPECT_EQ(hf.encode(text), g2.encode(text)) << text;
  EXPECT_EQ(hf.eot_token(), 259);
  EXPECT_EQ(hf.encode("he<|endoftext|>", true), (std::vector<int32_t>{256, 259}));
}

TEST_F(HfFileErrors, MissingFile) {
  const std::string missing = dir_.path("absent/tokenizer.json");
  expect_error([&] { Tokenizer::load_hf_json(missing); }, {missing, "cannot open"});
}

TEST_F(HfFileErrors, MissingModel) {
  v_.hf.erase("model");
  expect_load_error({"no \"model\""});
}

TEST_F(HfFileErrors, UnsupportedModelType) {
  v_.hf["model"]["type"] = "WordPiece";
  expect_load_error({"WordPiece", "not supported"});
}

TEST_F(HfFileErrors, UnsupportedNormalizer) {
  v_.hf["normalizer"] = {{"type", "Lowercase"}};
  expect_load_error({"normalizer Lowercase"});
}

TEST_F(HfFileErrors, PrefixSpaceUnsupported) {
  v_.hf["pre_tokenizer"]["add_prefix_space"] = true;
  expect_load_error({"add_prefix_space"});
}

TEST_F(HfFileErrors, DropoutUnsupported) {
  v_.hf["model"]["dropout"] = 0.1;
  expect_load_error({"model.dropout"});
}

TEST_F(HfFileErrors, MergesNotAnArray) {
  v_.hf["model"]["merges"] = "h e";
  expect_load_error({"model.merges must be an array"});
}

TEST_F(HfFileErrors, MergeOfUnknownToken) {
  v_.hf["model"]["merges"].push_back("q zz");
  expect_load_error({"model.merges[3]", "\"zz\" is not in the vocabulary"});
}

TEST_F(HfFileErrors, VocabWrongType) {
  v_.hf["model"]["vocab"] = {1, 2};
  expect_load_error({"model.vocab must be a JSON object"});
}

TEST_F(HfFileErrors, AddedTokenWithStrip) {
  v_.hf["added_tokens"] = {{{"id", 259}, {"content", "<s>"}, {"special", true}, {"lstrip", true}}};
  expect_load_error({"added_tokens[0]", "lstrip"});
}

TEST_F(HfFileErrors, WrongFieldType) {
  v_.hf["added_tokens"] = {{{"id", "x"}, {"content", "<s>"}}};
  expect_load_error({"unexpected structure"});
}

}  // namespace
}  // namespace merino::test
