// Candidates written out by hand for the search tests.
#pragma once
#include <initializer_list>

#include "search/space.h"

namespace merino::search::testing {

// {width, heads, ffn_halves, depth} per block
inline Candidate candidate(std::initializer_list<BlockGene> blocks) {
  Candidate c;
  for (const BlockGene& b : blocks) c.blocks[c.n_blocks++] = b;
  return c;
}

}  // namespace merino::search::testing
