#include "search/mutation.h"

#include <cmath>

namespace merino::search {
namespace {

bool coin(SplitMix64& rng) { return (rng.next() >> 63) != 0; }
int below(SplitMix64& rng, int n) { return int(rng.below(uint64_t(n))); }

void mutate_width(BlockGene& b, SplitMix64& rng) {
  static const double kFactors[] = {1.125, 1.25, 1.5};
  const double f = kFactors[below(rng, 3)];
  const bool grow = coin(rng);
  int heads = int(std::lround(grow ? b.heads * f : b.heads / f));
  if (heads == b.heads) heads += grow ? 1 : -1;  // too few heads for the factor to show
  const int hd = b.head_dim();
  b.heads = heads;
  b.width = heads * hd;
}

// Moves to the nearest head size (multiple of the head step in range) that divides the width,
// up or down.
void mutate_heads(BlockGene& b, const SearchSpace& s, SplitMix64& rng) {
  const int step = coin(rng) ? s.head_step : -s.head_step;
  for (int hd = b.head_dim() + step; hd >= s.min_head_dim && hd <= s.max_head_dim; hd += step) {
    if (b.width % hd == 0) {
      b.heads = b.width / hd;
      return;
    }
  }
  b.heads = 0;  // none: out of the space
}

int step_of_one_or_two(SplitMix64& rng) {
  const int size = coin(rng) ? 1 : 2;  // two statements: operand order is unspecified in C++
  return coin(rng) ? size : -size;
}

}  // namespace

bool mutate(Candidate& c, const SearchSpace& s, SplitMix64& rng) {
  const int first = below(rng, c.n_blocks);
  int second = -1;
  if (c.n_blocks > 1 && coin(rng)) second = (first + 1 + below(rng, c.n_blocks - 1)) % c.n_blocks;
  for (int i : {first, second}) {
    if (i < 0) continue;
    BlockGene& b = c.blocks[i];
    switch (below(rng, 4)) {
      case 0:
        if (i == 0 && s.embed_width != 0)
          mutate_heads(b, s, rng);  // a fixed width: its head count may still change
        else
          mutate_width(b, rng);
        break;
      case 1: mutate_heads(b, s, rng); break;
      case 2: b.ffn_halves += step_of_one_or_two(rng); break;
      default: b.depth += step_of_one_or_two(rng); break;
    }
  }
  return in_space(c, s);
}

}  // namespace merino::search
