// CPU-only: words 0 and 1 of Philox blocks base .. base + n - 1 of one stream (common/rng.h philox_block), eight
// counters at a time in structure-of-arrays form so the compiler can vectorise the rounds (same integers as the
// scalar philox4x32_10: the operations are exact).
#pragma once

#include <cstdint>

#include "common/rng.h"
#include "corrupt/cpu_simd.h"

namespace pyrepair {

PR_CLONES static void philox_words01(uint64_t seed, uint64_t stream, uint64_t base, int64_t n, uint32_t* w0,
                                     uint32_t* w1) {
  using namespace philox_detail;
  constexpr int L = 8;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    uint32_t c0[L], c1[L], c2[L], c3[L];
    for (int l = 0; l < L; ++l) {
      const uint64_t b = base + static_cast<uint64_t>(i + l);
      c0[l] = static_cast<uint32_t>(b);
      c1[l] = static_cast<uint32_t>(b >> 32);
      c2[l] = static_cast<uint32_t>(stream);
      c3[l] = static_cast<uint32_t>(stream >> 32);
    }
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      if (r > 0) {
        k0 += kW0;
        k1 += kW1;
      }
      for (int l = 0; l < L; ++l) {
        const uint64_t p0 = static_cast<uint64_t>(kM0) * c0[l];
        const uint64_t p1 = static_cast<uint64_t>(kM1) * c2[l];
        const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
        const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
        c1[l] = static_cast<uint32_t>(p1);
        c3[l] = static_cast<uint32_t>(p0);
        c0[l] = n0;
        c2[l] = n2;
      }
    }
    for (int l = 0; l < L; ++l) {
      w0[i + l] = c0[l];
      w1[i + l] = c1[l];
    }
  }
  for (; i < n; ++i) {
    const Philox4 r = philox_block(seed, stream, base + static_cast<uint64_t>(i));
    w0[i] = r.v[0];
    w1[i] = r.v[1];
  }
}

}  // namespace pyrepair
