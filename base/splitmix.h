// The loader's random numbers, written out so that a (seed, epoch) gives the same order with
// every compiler and standard library (std::uniform_int_distribution and std::shuffle are
// implementation-defined). SplitMix64 is Steele, Lea & Flood's generator (Java's
// SplittableRandom, the seeder of xoshiro); bounded draws use Lemire's unbiased multiply-shift.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace merino {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = -n % n;  // 2^64 mod n: the draws that would bias the result
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // One seed from several words, each fully mixed in, so (seed, epoch, shard) tuples that
  // differ in any word give unrelated streams.
  static uint64_t derive(std::initializer_list<uint64_t> words) {
    SplitMix64 g(0x6d6572696e6f2d31ULL);  // "merino-1"
    uint64_t h = g.next();
    for (uint64_t w : words) {
      g = SplitMix64(h ^ w);
      h = g.next();
    }
    return h;
  }

 private:
  uint64_t state_;
};

// Fisher-Yates shuffle of `v` driven by `rng`.
template <typename T>
void shuffle_in_place(std::vector<T>& v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace merino
