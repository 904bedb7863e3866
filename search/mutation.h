// The evolutionary step: change one or two blocks of a candidate.
#pragma once
#include "base/splitmix.h"
#include "search/space.h"

namespace merino::search {

// Mutates one or two distinct blocks; each gets one of: width x/÷ 1.125, 1.25 or 1.5 (in whole
// heads, so the width stays a multiple of the head size and so of 8), head count (next valid head
// size up or down at the same width), FFN ratio +-0.5 or +-1, depth +-1 or +-2.
// Returns false (and leaves `c` unspecified) when the change would leave the space.
bool mutate(Candidate& c, const SearchSpace& space, SplitMix64& rng);

}  // namespace merino::search
