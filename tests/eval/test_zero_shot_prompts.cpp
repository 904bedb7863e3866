// Prompt construction and token splits of every task against fixtures made outside this code:
// the worked examples of LM_EVAL_ZERO_SHOT.md section 12 (a separate Python re-implementation
// of lm-eval, on the real data files), and rows of our own in the HellaSwag, WinoGrande and
// SciQ formats whose expected strings came from Python's str / re and whose GPT-2 ids came from
// a separate Python BPE (OpenAI's encoder.py algorithm).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "eval/python_text.h"
#include "eval/request_tokens.h"
#include "eval/zero_shot_prompts.h"
#include "eval/zero_shot_tasks.h"
#include "zero_shot_test_util.h"

namespace merino::eval {
namespace {

using Ids = std::vector<int32_t>;

std::vector<nlohmann::json> worked_examples() {
  std::ifstream in(test::kZeroShotData + "/LM_EVAL_ZERO_SHOT.md");
  std::string line;
  bool in_section = false;
  std::vector<nlohmann::json> out;
  while (std::getline(in, line)) {
    if (line.rfind("## 12.", 0) == 0) in_section = true;
    if (in_section && line.rfind("{\"task\"", 0) == 0) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

struct zero_shot_prompts : ::testing::Test {
  void SetUp() override {
    if (!test::zero_shot_data_here()) GTEST_SKIP() << "no " << test::kZeroShotData << ": run `merino fetch zero-shot`";
  }
  // tasks loaded once per test binary: they are read whole
  static const ZeroShotTask& task(const std::string& name) {
    static std::map<std::string, ZeroShotTask> cache;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, load_zero_shot_task(name, test::kZeroShotRoot)).first;
    return it->second;
  }
};

TEST_F(zero_shot_prompts, worked_examples_of_the_protocol) {
  const std::vector<nlohmann::json> examples = worked_examples();
  ASSERT_EQ(examples.size(), 16u) << "section 12 of LM_EVAL_ZERO_SHOT.md changed";
  size_t checked = 0;
  for (const nlohmann::json& ex : examples) {
    const std::string name = ex["task"];
    SCOPED_TRACE(name + " doc " + std::to_string(ex["doc_index"].get<int>()));
    ZeroShotDoc doc;
    if (name == "winogrande") {  // no data here: the row the example was built from
      doc = make_zero_shot_doc(name, {{"sentence", "Sarah was a much better surgeon than Maria so _ always got the easier cases."},
                                      {"option1", "Sarah"}, {"option2", "Maria"}, {"answer", "2"}});
    } else {
      doc = task(name).docs.at(ex["doc_index"].get<size_t>());
    }
    std::vector<std::string> contexts, continuations;
    if (ex.contains("contexts")) {
      contexts = ex["contexts"].get<std::vector<std::string>>();
      continuations.assign(contexts.size(), ex["continuation"].get<std::string>());
    } else {
      continuations = ex["continuations"].get<std::vector<std::string>>();
      contexts.assign(continuations.size(), ex["context"].get<std::string>());
    }
    ASSERT_EQ(doc.num_requests(), contexts.size());
    for (size_t i = 0; i < contexts.size(); ++i) {
      EXPECT_EQ(doc.context(i), contexts[i]) << "request " << i;
      EXPECT_EQ(doc.continuation(i), continuations[i]) << "request " << i;
      const TokenRequest r = tokenize_request(test::gpt2(), doc.context(i), doc.continuation(i), 50256);
      EXPECT_EQ(r.continuation, ex["gpt2_continuation_tokens"][i].get<Ids>()) << "request " << i;
      if (ex.contains("gpt2_context_tokens")) {
        EXPECT_EQ(r.context, ex["gpt2_context_tokens"].get<Ids>());
      }
      if (ex.contains("gpt2_context_len")) {
        EXPECT_EQ(r.context.size(), ex["gpt2_context_len"].get<size_t>());
      }
      if (ex.contains("gpt2_context_lengths")) {
        EXPECT_EQ(r.context.size(), ex["gpt2_context_lengths"][i].get<size_t>());
      }
      if (ex.contains("gpt2_context_last8")) {
        ASSERT_GE(r.context.size(), 8u);
        EXPECT_EQ(Ids(r.context.end() - 8, r.context.end()), ex["gpt2_context_last8"].get<Ids>());
      }
      if (ex.contains("choice_lengths")) {
        EXPECT_EQ(code_point_count(doc.choices[i]), ex["choice_lengths"][i].get<size_t>()) << "request " << i;
      }
    }
    EXPECT_EQ(doc.gold, ex["gold"].is_null() ? -1 : ex["gold"].get<int>());
    ++checked;
  }
  EXPECT_EQ(checked, 16u);
}

// Split sizes and label counts of section 9 (the majority-class rates of 11.22 follow from them).
TEST_F(zero_shot_prompts, split_sizes_and_label_counts) {
  const std::map<std::string, std::vector<size_t>> counts = {
      {"boolq", {1237, 2033}}, {"cb", {23, 28, 5}}, {"wic", {319, 319}},
      {"wsc", {66, 38}},       {"sglue_rte", {146, 131}}, {"pubmedqa", {276, 169, 55}}};
  for (const auto& [name, expected] : counts) {
    std::vector<size_t> got(expected.size());
    for (const ZeroShotDoc& d : task(name).docs) ++got.at(size_t(d.gold));
    EXPECT_EQ(got, expected) << name;
  }
  for (const auto& [name, n] : std::map<std::string, size_t>{{"arc_easy", 2376}, {"arc_challenge", 1172},
                                                              {"openbookqa", 500}, {"piqa", 1838}, {"logiqa", 651},
                                                              {"lambada_openai", 5153}})
    EXPECT_EQ(task(name).docs.size(), n) << name;
  size_t five = 0, three = 0;
  for (const ZeroShotDoc& d : task("arc_easy").docs) five += d.num_requests() == 5, three += d.num_requests() == 3;
  EXPECT_EQ(five, 4u);
  EXPECT_EQ(three, 7u);
}

// WSC's wsc.fixed repair changes span1 in exactly 8 documents (protocol 9.11).
TEST_F(zero_shot_prompts, wsc_span_repair) {
  size_t lower_the = 0;
  for (size_t idx : {5, 23, 28, 29, 51, 81, 87, 89}) {
    const std::string& c = task("wsc").docs.at(idx).context(0);
    lower_the += c.find("refer to \"*the ") != std::string::npos;
  }
  EXPECT_EQ(lower_the, 8u);
}

TEST_F(zero_shot_prompts, wic_quotes_the_span_not_the_word) {
  size_t differ = 0;
  const std::vector<Row> rows = read_json_rows(test::kZeroShotData + "/wic/val.jsonl");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string quoted = "the word '" + rows[i]["word"].get<std::string>() + "' used";
    differ += task("wic").docs[i].context(0).find(quoted) == std::string::npos;
  }
  EXPECT_EQ(differ, 110u);
}

// Rows of our own, in the original HellaSwag format and as an HF export (label a string).
TEST(zero_shot_rows, hellaswag) {
  Row row = {{"ind", 24}, {"activity_label", "Roof shingle removal"}, {"ctx_a", "A man is sitting on a roof."},
             {"ctx_b", "he"}, {"label", 3},
             {"endings", {"is using wrap to wrap a pair of skis.", "is ripping level tiles off.",
                          "is holding a rubik's cube.", "starts pulling up roofing on a roof."}}};
  Row hf_row = row;
  hf_row["label"] = "3";
  for (const Row& r : {row, hf_row}) {
    const ZeroShotDoc d = make_zero_shot_doc("hellaswag", r);
    EXPECT_EQ(d.context(0), "Roof shingle removal: A man is sitting on a roof. He");
    EXPECT_EQ(d.continuation(3), " starts pulling up roofing on a roof.");
    EXPECT_EQ(d.gold, 3);
  }
    const TokenRequest r = tokenize_request(test::gpt2(), make_zero_shot_doc("hellaswag", row).context(0),
                                          " is using wrap to wrap a pair of skis.", 50256);
  EXPECT_EQ(r.context, (Ids{15450, 1659, 427, 17697, 9934, 25, 317, 582, 318, 5586, 319, 257, 9753, 13, 679}));
  EXPECT_EQ(r.continuation, (Ids{318, 1262, 14441, 284, 14441, 257, 5166, 286, 1341, 271, 13}));
}

// Bracket tags, " [title]", double spaces and a query left ending in a space: the space moves
// into every continuation (protocol 4.1, 9.1). Expected strings: Python's str/re on the same row.
TEST(zero_shot_rows, hellaswag_tags_and_trailing_space) {
  const Row row = {{"activity_label", "Home and Garden"},
                   {"ctx_a", "[header] How to clean a sink. [title] Rinse the sink."},
                   {"ctx_b", "[step] use WARM Water [title]"},
                   {"label", "0"},
                   {"endings", {"[substeps] Scrub it   well.", "Dry  it off [with\n a towel].", "x", "y"}}};
  const ZeroShotDoc d = make_zero_shot_doc("hellaswag", row);
  EXPECT_EQ(d.context(0), "Home and Garden: How to clean a sink.. Rinse the sink. use warm water. ");
  EXPECT_EQ(d.choices[0], " Scrub it  well.");
  EXPECT_EQ(d.choices[1], "Dry it off [with\n a towel].");
  EXPECT_EQ(hellaswag_preprocess(" leading and [x] trailing  "), "leading and trailing");
    const TokenRequest a = tokenize_request(test::gpt2(), d.context(0), d.continuation(0), 50256);
  EXPECT_EQ(a.context.size(), 19u);
  EXPECT_EQ(Ids(a.context.end() - 4, a.context.end()), (Ids{779, 5814, 1660, 13}));
  EXPECT_EQ(a.continuation, (Ids{220, 220, 1446, 25089, 340, 220, 880, 13}));  // "   Scrub it  well."
  const TokenRequest b = tokenize_request(test::gpt2(), d.context(0), d.continuation(1), 50256);
  EXPECT_EQ(b.continuation, (Ids{220, 22408, 340, 572, 685, 4480, 198, 257, 24808, 4083}));
}

TEST(zero_shot_rows, winogrande_uses_the_first_blank) {
  const ZeroShotDoc d = make_zero_shot_doc(
      "winogrande", {{"sentence", "Ann gave _ the book because _ asked.  "}, {"option1", "Bo"}, {"option2", "Cy"},
                     {"answer", "1"}, {"qID", "x"}});
  EXPECT_EQ(d.context(0), "Ann gave Bo");
  EXPECT_EQ(d.context(1), "Ann gave Cy");
  EXPECT_EQ(d.continuation(0), " the book because _ asked.");
  EXPECT_EQ(d.continuation(1), " the book because _ asked.");
  EXPECT_EQ(d.gold, 0);
}

TEST(zero_shot_rows, sciq_keeps_an_empty_support_newline) {
  const ZeroShotDoc d = make_zero_shot_doc(
      "sciq", {{"question", "What is the unit of force?"}, {"distractor1", "watt"}, {"distractor2", "joule"},
               {"distractor3", "pascal"}, {"correct_answer", "newton"}, {"support", ""}});
  EXPECT_EQ(d.context(0), "\nQuestion: What is the unit of force?\nAnswer:");
  EXPECT_EQ(d.continuation(3), " newton");
  EXPECT_EQ(d.gold, 3);
  const ZeroShotDoc s = make_zero_shot_doc(
      "sciq", {{"question", "Q?"}, {"distractor1", "a"}, {"distractor2", "b"}, {"distractor3", "c"},
               {"correct_answer", "d"}, {"support", " \n Support text. "}});
  EXPECT_EQ(s.context(0), "Support text. \nQuestion: Q?\nAnswer:");
    const TokenRequest r = tokenize_request(test::gpt2(), d.context(0), d.continuation(3), 50256);
  EXPECT_EQ(r.context, (Ids{198, 24361, 25, 1867, 318, 262, 4326, 286, 2700, 30, 198, 33706, 25}));
  EXPECT_EQ(r.continuation, (Ids{649, 1122}));
}

TEST(zero_shot_rows, lambada_splits_on_the_last_space_only) {
  const ZeroShotDoc d = make_zero_shot_doc("lambada_openai", {{"text", "a  b\tc of\n\nPower"}});
  EXPECT_EQ(d.context(0), "a  b\tc");
  EXPECT_EQ(d.continuation(0), " of\n\nPower");
}

TEST(zero_shot_rows, empty_context_is_the_prefix_token) {
  const TokenRequest r = tokenize_request(test::gpt2(), "", " Hastin", 50256);
  EXPECT_EQ(r.context, Ids{50256});
  EXPECT_EQ(r.continuation, (Ids{33268, 259}));
}

TEST(zero_shot_rows, detokenize_and_code_points) {
  // Python: "hE SAID ÉTÉ".capitalize() == "He said été"; "éCOLE".capitalize() == "École"
  EXPECT_EQ(python_capitalize("hE SAID \u00c9T\u00c9"), "He said \u00e9t\u00e9");
  EXPECT_EQ(python_capitalize("\u00e9COLE"), "\u00c9cole");
  EXPECT_EQ(general_detokenize("He said \" hi \" ( ok ) , don 't ."), "He said\"hi\"(ok), don't.");
  EXPECT_EQ(code_point_count("有 白 术"), 5u);
  EXPECT_EQ(std::string(drop_code_points("有白术x", 2)), "术x");
}

}  // namespace
}  // namespace merino::eval
