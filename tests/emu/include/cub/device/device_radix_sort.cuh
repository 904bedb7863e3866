// cub::DeviceRadixSort::SortPairs for the CPU emulation (found before the toolkit's CUB, which a
// host compiler cannot build): the same contract -- a first call with d_temp_storage == nullptr
// sets temp_storage_bytes, the second sorts -- and the same result: pairs ordered by the bits
// [begin_bit, end_bit) of the keys (signed keys in numeric order, as CUB's bit twiddling does),
// stable, so equal keys keep their input order. The temporary storage is really used, as the
// permutation, so a caller that hands over too little of it faults.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace cub {

struct DeviceRadixSort {
  template <class KeyT, class ValueT, class NumItemsT>
  static cudaError_t SortPairs(void* d_temp_storage, size_t& temp_storage_bytes,
                               const KeyT* d_keys_in, KeyT* d_keys_out,
                               const ValueT* d_values_in, ValueT* d_values_out,
                               NumItemsT num_items, int begin_bit = 0,
                               int end_bit = sizeof(KeyT) * 8, cudaStream_t = 0) {
    static_assert(std::is_integral<KeyT>::value, "the emulation sorts integer keys");
    const size_t n = static_cast<size_t>(num_items);
    const size_t needed = n * sizeof(size_t) + 16;
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = needed;
      return cudaSuccess;
    }
    if (temp_storage_bytes < needed || begin_bit < 0 || end_bit > int(sizeof(KeyT) * 8) ||
        begin_bit >= end_bit) {
      return cudaErrorInvalidValue;
    }
    using U = std::make_unsigned_t<KeyT>;
    const auto radix = [&](KeyT k) {
      U u = static_cast<U>(k);
      if (std::is_signed<KeyT>::value) u ^= U(1) << (sizeof(KeyT) * 8 - 1);  // sign flip
      const int bits = end_bit - begin_bit;
      const U mask = bits >= int(sizeof(U) * 8) ? U(~U(0)) : U((U(1) << bits) - 1);
      return U((u >> begin_bit) & mask);
    };
    size_t* order = static_cast<size_t*>(d_temp_storage);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order, order + n,
                     [&](size_t a, size_t b) { return radix(d_keys_in[a]) < radix(d_keys_in[b]); });
    for (size_t i = 0; i < n; ++i) {
      d_keys_out[i] = d_keys_in[order[i]];
      d_values_out[i] = d_values_in[order[i]];
    }
    return cudaSuccess;
  }
};

}  // namespace cub
