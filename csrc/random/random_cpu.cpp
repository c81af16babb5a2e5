#include <cstdint>

#include "common/parallel.h"
#include "random/random.h"

namespace pyrepair {

void random_fill_cpu(const RandomParams& p) {
  if (p.n <= 0) return;
  // Iterate over Philox blocks touched by [offset, offset + n): each block is computed once and its (up to) four
  // words written to the outputs that fall inside the range.
  const uint64_t first = p.offset;
  const uint64_t last = p.offset + static_cast<uint64_t>(p.n);  // exclusive
  const uint64_t b0 = first >> 2;
  const int64_t nblocks = static_cast<int64_t>(((last - 1) >> 2) - b0 + 1);
  parallel_for(nblocks, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t bi = begin; bi < end; ++bi) {
      const uint64_t block = b0 + static_cast<uint64_t>(bi);
      const Philox4 w = philox_block(p.seed, p.stream, block);
      float v[4] = {0.f, 0.f, 0.f, 0.f};
      if (p.dist != Distribution::Bits) random_block_values(w, p.dist, v);
      for (uint64_t k = 0; k < 4; ++k) {
        const uint64_t g = block * 4 + k;
        if (g < first || g >= last) continue;
        const uint64_t i = g - first;
        if (p.dist == Distribution::Bits) {
          static_cast<uint32_t*>(p.out)[i] = w.v[k];
        } else {
          static_cast<float*>(p.out)[i] = v[k];
        }
      }
    }
  });
}

}  // namespace pyrepair
