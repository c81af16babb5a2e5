#include <cstdint>

#include "common/parallel.h"
#include "random/random.h"

namespace pyrepair {

// Each Philox block is computed once and its (up to) four words written to the outputs inside the range
// (random_fill_block, the CUDA kernel's thread body).
void random_fill_cpu(const RandomParams& p) {
  if (p.n <= 0) return;
  uint64_t b0 = 0;
  const int64_t nblocks = random_fill_blocks(p, &b0);
  parallel_for(nblocks, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t bi = begin; bi < end; ++bi) random_fill_block(p, b0, bi);
  });
}

}  // namespace pyrepair
