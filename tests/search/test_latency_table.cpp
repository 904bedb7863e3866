// The latency table file of `merino search --measure-cache`: a save/load round trip keeps every
// value bit for bit, and anything wrong with the file is one ConfigError line naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "base/errors.h"
#include "search/latency_table.h"
#include "temp_path.h"

namespace ms = merino::search;

namespace {

// Values with all 53 bits of the mantissa in use, so a lossy decimal form would show.
ms::LatencyTable sample_table() {
  ms::LatencyTable t;
  t.threads = 2;
  int i = 0;
  for (ms::OpKind kind : {ms::OpKind::Vocab, ms::OpKind::Projection, ms::OpKind::Attention,
                          ms::OpKind::Ffn, ms::OpKind::Final})
    for (int width : {64, 96, 1000})
      t.seconds[{kind, 256, width, 2 + ++i}] = std::sqrt(2.0 + i) * 1e-3 / 3.0;
  return t;
}

void write(const std::string& file, const std::string& text) { std::ofstream(file) << text; }

std::string load_error(const std::string& text, int threads = 1) {
  const std::string file = merino::test::temp_path("bad_table.json");
  write(file, text);
  try {
    ms::load_latency_table(file, threads);
  } catch (const merino::ConfigError& e) {
    std::remove(file.c_str());
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(file + ": ", 0), 0u) << message;  // starts with the file name
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message.substr(file.size() + 2);
  }
  std::remove(file.c_str());
  ADD_FAILURE() << "loaded: " << text;
  return "";
}

}  // namespace

TEST(search_latency_table, SaveThenLoadGivesTheSameTableBitForBit) {
  const std::string file = merino::test::temp_path("table.json");
  const ms::LatencyTable t = sample_table();
  ms::save_latency_table(t, file);
  const ms::LatencyTable back = ms::load_latency_table(file, 2);
  std::remove(file.c_str());
  EXPECT_EQ(back.threads, 2);
  ASSERT_EQ(back.seconds.size(), t.seconds.size());
  for (const auto& [op, seconds] : t.seconds) {
    ASSERT_EQ(back.seconds.count(op), 1u);
    EXPECT_EQ(back.seconds.at(op), seconds);  // exact: the same predictions after a reload
  }
  EXPECT_EQ(ms::latency_table_json(back), ms::latency_table_json(t));
}

TEST(search_latency_table, OneEntryPerLineWithItsNamedDimensions) {
  ms::LatencyTable t;
  t.seconds[{ms::OpKind::Attention, 128, 512, 8}] = 0.25;
  t.seconds[{ms::OpKind::Vocab, 128, 512, 50257}] = 0.5;
  EXPECT_EQ(ms::latency_table_json(t),
            "{\"format\": \"merino-latency-table-1\", \"threads\": 1, \"entries\": [\n"
            "{\"op\":\"vocab\",\"seq_len\":128,\"d_model\":512,\"vocab_size\":50257,"
            "\"seconds\":0.5},\n"
            "{\"op\":\"attention\",\"seq_len\":128,\"d_model\":512,\"n_heads\":8,"
            "\"seconds\":0.25}\n"
            "]}\n");
}

TEST(search_latency_table, AMissingFileIsAnEmptyTable) {
  const ms::LatencyTable t = ms::load_latency_table(merino::test::temp_path("absent.json"), 3);
  EXPECT_EQ(t.threads, 3);
  EXPECT_TRUE(t.seconds.empty());
}

TEST(search_latency_table, BadFilesAreOneLineErrorsNamingTheFile) {
  const std::string head = "{\"format\": \"merino-latency-table-1\", \"threads\": 1, ";
  const std::string attention = "\"op\": \"attention\", \"seq_len\": 16, \"d_model\": 64";
  EXPECT_EQ(load_error("{\"format\": ").rfind("not JSON: ", 0), 0u);
  EXPECT_EQ(load_error("{\"format\": \"other\", \"threads\": 1, \"entries\": []}"),
            "not a latency table (\"format\" must be \"merino-latency-table-1\")");
  EXPECT_EQ(load_error(head + "\"entries\": []}", 2),
            "timed with OMP_NUM_THREADS=1, this run has 2 (set OMP_NUM_THREADS=1 or use "
            "another cache file)");
  EXPECT_EQ(load_error(head + "\"entries\": {}}"), "\"entries\" must be an array");
  EXPECT_EQ(load_error(head + "\"entries\": [{\"op\": \"conv\"}]}"),
            "entry 1: op must be one of vocab, projection, attention, ffn, final");
  EXPECT_EQ(load_error(head + "\"entries\": [{" + attention + ", \"seconds\": 1}]}"),
            "entry 1: n_heads must be an integer from 1 to 16777216");
  EXPECT_EQ(load_error(head + "\"entries\": [{" + attention + ", \"n_heads\": 2.5}]}"),
            "entry 1: n_heads must be an integer from 1 to 16777216");
  EXPECT_EQ(
      load_error(head + "\"entries\": [{" + attention + ", \"n_heads\": 2, \"seconds\": -1}]}"),
      "entry 1: seconds must be a positive number");
  const std::string entry = "{" + attention + ", \"n_heads\": 2, \"seconds\": 0.001}";
  EXPECT_EQ(load_error(head + "\"entries\": [" + entry + ", " + entry + "]}"),
            "entry 2: the same operation appears earlier in the file");
}
