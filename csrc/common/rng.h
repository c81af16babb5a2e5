// Counter-based Philox 4x32-10 generator (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
// 1, 2, 3", SC'11), written from the paper's definition; identical integers on host and device.
//
// A draw is a pure function of (key, counter): key = the user's 64-bit seed, counter = (block index (64 bit),
// stream (64 bit)). Kernels pick the stream (e.g. an image index) and the block (element index / 4), so results
// never depend on thread count or launch geometry. Known-answer vectors (Random123 kat_vectors) are checked in
// tests/test_random.py through pyrepair._core.philox4x32_10.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

struct Philox4 {
  uint32_t v[4];
};

namespace philox_detail {
constexpr uint32_t kM0 = 0xD2511F53u;  // round multipliers (SC'11, Table 2)
constexpr uint32_t kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u;  // Weyl key increments: golden ratio and sqrt(3) - 1, scaled to 2^32
constexpr uint32_t kW1 = 0xBB67AE85u;

PR_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}
}  // namespace philox_detail

// One round on the counter words (c0, c1, c2, c3) with round key (k0, k1): the only place the round is written.
// The CPU lane loops (philox_lanes below) call it per lane; CUDA and the scalar host path via philox4x32_10.
PR_HD void philox_round(uint32_t& c0, uint32_t& c1, uint32_t& c2, uint32_t& c3, uint32_t k0, uint32_t k1) {
  using namespace philox_detail;
  uint32_t hi0, lo0, hi1, lo1;
  mulhilo(kM0, c0, hi0, lo0);
  mulhilo(kM1, c2, hi1, lo1);
  c0 = hi1 ^ c1 ^ k0;
  c1 = lo1;
  c2 = hi0 ^ c3 ^ k1;
  c3 = lo0;
}

// Ten rounds; the key is bumped between rounds (nine bumps), as in the reference definition.
PR_HD Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  using namespace philox_detail;
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    philox_round(ctr.v[0], ctr.v[1], ctr.v[2], ctr.v[3], k0, k1);
  }
  return ctr;
}

// The 4 words of block `block` of stream `stream` under `seed`.
PR_HD Philox4 philox_block(uint64_t seed, uint64_t stream, uint64_t block) {
  Philox4 c;
  c.v[0] = static_cast<uint32_t>(block);
  c.v[1] = static_cast<uint32_t>(block >> 32);
  c.v[2] = static_cast<uint32_t>(stream);
  c.v[3] = static_cast<uint32_t>(stream >> 32);
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform float in the open interval (0, 1): the top 23 bits plus one half, times 2^-23. Every value is exactly
// representable in float32, so host and device agree bit for bit, and log(u) is always finite.
PR_HD float uint_to_unit_float(uint32_t x) {
  return (static_cast<float>(x >> 9) + 0.5f) * 1.1920928955078125e-07f;  // 2^-23
}

#if !defined(__CUDACC__)
// ---- CPU lanes (random/philox_lanes.cpp) ---------------------------------------------------------------------
// The words of kPhiloxLanes blocks at once, in structure-of-arrays form so the rounds vectorise: the same integers as
// philox_block (tests/test_random.py checks every path against it through _core.philox_lanes_cpu).
constexpr int kPhiloxLanes = 64;

struct PhiloxLanes {
  uint32_t w[4][kPhiloxLanes];  // w[k][l]: word k of block base + l * stride
};

enum class PhiloxPath : int {
  Auto = 0,     // AVX2 intrinsics where the CPU has them, else the generic lanes
  Generic = 1,  // philox_round per lane (compiler-vectorised, multi-versioned)
  Avx2 = 2,     // hand-written AVX2 (x86-64 only; falls back to Generic elsewhere)
  Scalar = 3,   // philox_block per lane
};

// Blocks base + l * stride, l < kPhiloxLanes, of (seed, stream).
void philox_lanes(uint64_t seed, uint64_t stream, uint64_t base, uint64_t stride, PhiloxLanes& out,
                  PhiloxPath path = PhiloxPath::Auto);
// Words 0 and 1 of blocks base .. base + n - 1 of (seed, stream).
void philox_words01(uint64_t seed, uint64_t stream, uint64_t base, int64_t n, uint32_t* w0, uint32_t* w1);
// Whether PhiloxPath::Avx2 runs the AVX2 code on this CPU.
bool philox_has_avx2();
#endif

}  // namespace pyrepair
