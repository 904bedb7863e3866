// Python's str semantics as lm-eval relies on them, and the wikitext detokenizer on cases whose
// expected output came from running lm-eval's preprocess_wikitext.wikitext_detokenizer.
#include <gtest/gtest.h>

#include "eval/python_text.h"
#include "eval/wikitext.h"

namespace merino::eval {
namespace {

TEST(eval_python_text, whitespace_is_str_isspace) {
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Du, 0x1Cu, 0x1Fu, 0x20u, 0x85u, 0xA0u, 0x2000u, 0x2028u, 0x3000u})
    EXPECT_TRUE(is_python_space(cp)) << cp;
  for (uint32_t cp : {0x08u, 0x21u, 0x180Eu, 0x200Bu, 0xFEFFu}) EXPECT_FALSE(is_python_space(cp)) << cp;
}

TEST(eval_python_text, strip_removes_unicode_whitespace_only) {
  EXPECT_EQ(python_strip("\xC2\xA0 a b \t\n"), "a b");
  EXPECT_EQ(python_strip("\xE3\x80\x80x\xE3\x80\x80"), "x");
  EXPECT_EQ(python_strip(" \xA0 "), "\xA0");  // a lone continuation byte is not a character
  EXPECT_EQ(python_strip(" \n "), "");
}

TEST(eval_python_text, regex_split_counts_empty_end_fields) {
  EXPECT_EQ(count_regex_split_fields(""), 1u);
  EXPECT_EQ(count_regex_split_fields(" "), 2u);
  EXPECT_EQ(count_regex_split_fields("a"), 1u);
  EXPECT_EQ(count_regex_split_fields(" a  b \n"), 4u);
  EXPECT_EQ(count_regex_split_fields("a\xC2\xA0" "b"), 2u);
  EXPECT_EQ(count_words(""), 0u);
  EXPECT_EQ(count_words(" \n"), 0u);
  EXPECT_EQ(count_words(" a  b \n"), 2u);
  EXPECT_EQ(count_words("a b"), 2u);
}

TEST(eval_python_text, replace_is_non_overlapping_left_to_right) {
  EXPECT_EQ(replace_all("aaa", "aa", "b"), "ba");
  EXPECT_EQ(replace_all("= = = =", "= =", "=="), "== ==");
  EXPECT_EQ(replace_all("none", "x", "y"), "none");
}

TEST(eval_detokenize, matches_lm_eval_on_tricky_cases) {
  const std::pair<const char*, const char*> cases[] = {
      {" = Robert Boulter = \n \n Robert Boulter is an English film , television and theatre actor . \n",
       " = Robert Boulter =\n\nRobert Boulter is an English film, television and theatre actor.\n"},
      {"In 2000 he had a role in the episode \" Blue Skies \" , and \" Ghost \" . ",
       "In 2000 he had a role in the episode \"Blue Skies\", and \"Ghost\". "},
      {"( a ( b ) c ) and [ x ] { \n y }", "(a ( b) c ) and [x] {y}"},
      {"the players ' union and ' quoted ' text", "the players'union and' quoted ' text"},
      {" = = = Section = = = \n", " === Section ===\n"},
      {"1 @,@ 000 @.@ 5 km @-@ long , 45 \xC2\xB0 N and N is the dog 's bone ",
       "1,000.5 km-long, 45\xC2\xB0N and 1 is the dog's bone "},
      {"a /' 5/ b", "a /'[0-9]/ b"},
      {"( \xC2\xA0inner\xC2\xA0 ) \" \xE3\x80\x80 q \"", "(inner) \"q\""},
      {"a \" b \" c \" d", "a \"b\" c \" d"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(wikitext_detokenize(in), out) << in;
}

TEST(eval_wikitext, split_keeps_headings_and_drops_leading_blank) {
  const std::string raw = " \n = A = \n \n x \n = = Sec = = \n y \n = B = \n z \n";
  const std::vector<std::string> docs = split_wikitext_documents(raw);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], " = A = \n \n x \n = = Sec = = \n y ");
  EXPECT_EQ(docs[1], " = B = \n z \n");  // the last one keeps the final empty line
}

}  // namespace
}  // namespace merino::eval
