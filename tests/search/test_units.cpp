// Budget and integer options: what parses, and the one-line errors for what does not.
#include <gtest/gtest.h>

#include "base/errors.h"
#include "search/units.h"

namespace ms = merino::search;

TEST(search_units, AmountsWithDecimalMultipliers) {
  EXPECT_EQ(ms::parse_amount("--params", "64M"), 64e6);
  EXPECT_EQ(ms::parse_amount("--params", "64m"), 64e6);
  EXPECT_EQ(ms::parse_amount("--flops", "1.5G"), 1.5e9);
  EXPECT_EQ(ms::parse_amount("--params", "250k"), 250e3);
  EXPECT_EQ(ms::parse_amount("--flops", "2T"), 2e12);
  EXPECT_EQ(ms::parse_amount("--latency-ms", "50"), 50.0);
  EXPECT_EQ(ms::parse_amount("--latency-ms", ".5"), 0.5);
}

TEST(search_units, BadAmountsNameTheOption) {
  for (const char* bad :
       {"abc", "0", "0M", "-5M", "", "64MB", "M", "inf", "nan", " 64M", "1e999"}) {
    try {
      ms::parse_amount("--params", bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const merino::ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), std::string("--params: '") + bad +
                                           "' is not a positive amount like 64M, 1.5G or 250000");
    }
  }
}

TEST(search_units, Integers) {
  EXPECT_EQ(ms::parse_integer("--seed", "0", 0, 10), 0);
  EXPECT_EQ(ms::parse_integer("--iterations", "100000", 1, 1LL << 40), 100000);
  EXPECT_THROW(ms::parse_integer("--blocks", "9", 1, 8), merino::ConfigError);
  EXPECT_THROW(ms::parse_integer("--blocks", "3x", 1, 8), merino::ConfigError);
  EXPECT_THROW(ms::parse_integer("--blocks", "", 1, 8), merino::ConfigError);
  EXPECT_THROW(ms::parse_integer("--blocks", " 3", 1, 8), merino::ConfigError);
  EXPECT_THROW(ms::parse_integer("--seed", "99999999999999999999999", 0, 10), merino::ConfigError);
}
