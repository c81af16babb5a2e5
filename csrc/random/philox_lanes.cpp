// CPU lanes of the Philox generator (common/rng.h): kPhiloxLanes blocks per call, the same words as philox_block.
//
// Generic: philox_round (the one written-out round of rng.h) over lane arrays, which GCC vectorises (cloned for
// AVX-512 / AVX2 by PR_CLONES). Avx2: the same round with AVX2 intrinsics (the compiler's vectorisation of the
// 32 x 32 -> 64 bit products shuffles a lot; _mm256_mul_epu32 does two lanes' worth per instruction), a genuinely
// different SIMD form, tested bit-equal to philox_block in tests/test_random.py.
#include <cstdint>

#include "common/rng.h"
#include "common/simd.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define PR_PHILOX_AVX2 1
#include <immintrin.h>
#else
#define PR_PHILOX_AVX2 0
#endif

namespace pyrepair {

namespace {

PR_CLONES void philox_lanes_generic(uint64_t seed, uint64_t stream, uint64_t base, uint64_t stride,
                                    PhiloxLanes& out) {
  using namespace philox_detail;
  uint32_t c0[kPhiloxLanes], c1[kPhiloxLanes], c2[kPhiloxLanes], c3[kPhiloxLanes];
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const uint64_t blk = base + static_cast<uint64_t>(l) * stride;
    c0[l] = static_cast<uint32_t>(blk);
    c1[l] = static_cast<uint32_t>(blk >> 32);
    c2[l] = static_cast<uint32_t>(stream);
    c3[l] = static_cast<uint32_t>(stream >> 32);
  }
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    for (int l = 0; l < kPhiloxLanes; ++l) philox_round(c0[l], c1[l], c2[l], c3[l], k0, k1);
    k0 += kW0;
    k1 += kW1;
  }
  for (int l = 0; l < kPhiloxLanes; ++l) {
    out.w[0][l] = c0[l];
    out.w[1][l] = c1[l];
    out.w[2][l] = c2[l];
    out.w[3][l] = c3[l];
  }
}

void philox_lanes_scalar(uint64_t seed, uint64_t stream, uint64_t base, uint64_t stride, PhiloxLanes& out) {
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const Philox4 r = philox_block(seed, stream, base + static_cast<uint64_t>(l) * stride);
    for (int k = 0; k < 4; ++k) out.w[k][l] = r.v[k];
  }
}

#if PR_PHILOX_AVX2
// 32 x 32 -> 64 bit products of 8 lanes by m (in every 32-bit half): low and high words, lane order kept.
__attribute__((target("avx2"))) inline void mul_lo_hi(__m256i a, __m256i m, __m256i* lo, __m256i* hi) {
  const __m256i ev = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6
  const __m256i od = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  *lo = _mm256_blend_epi32(ev, _mm256_slli_epi64(od, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(ev, 32), od, 0xAA);
}

__attribute__((target("avx2"))) void philox_lanes_avx2(uint64_t seed, uint64_t stream, uint64_t base,
                                                       uint64_t stride, PhiloxLanes& out) {
  using namespace philox_detail;
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0)), m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  const __m256i s2 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(stream)));
  const __m256i s3 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(stream >> 32)));
  for (int v = 0; v < kPhiloxLanes; v += 8) {
    alignas(32) uint32_t lo[8], hi[8];
    for (int l = 0; l < 8; ++l) {
      const uint64_t blk = base + static_cast<uint64_t>(v + l) * stride;
      lo[l] = static_cast<uint32_t>(blk);
      hi[l] = static_cast<uint32_t>(blk >> 32);
    }
    __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
    __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    __m256i c2 = s2, c3 = s3;
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      __m256i p0lo, p0hi, p1lo, p1hi;
      mul_lo_hi(c0, m0, &p0lo, &p0hi);
      mul_lo_hi(c2, m1, &p1lo, &p1hi);
      const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(p1hi, c1), _mm256_set1_epi32(static_cast<int>(k0)));
      const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(p0hi, c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c0 = n0;
      c1 = p1lo;
      c2 = n2;
      c3 = p0lo;
      k0 += kW0;
      k1 += kW1;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.w[0] + v), c0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.w[1] + v), c1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.w[2] + v), c2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.w[3] + v), c3);
  }
}

const bool kHasAvx2 = [] {
  __builtin_cpu_init();  // static initialiser: may run before libgcc's own CPU detection
  return __builtin_cpu_supports("avx2") != 0;
}();
#endif

}  // namespace

bool philox_has_avx2() {
#if PR_PHILOX_AVX2
  return kHasAvx2;
#else
  return false;
#endif
}

void philox_lanes(uint64_t seed, uint64_t stream, uint64_t base, uint64_t stride, PhiloxLanes& out,
                  PhiloxPath path) {
  switch (path) {
    case PhiloxPath::Scalar:
      return philox_lanes_scalar(seed, stream, base, stride, out);
    case PhiloxPath::Generic:
      return philox_lanes_generic(seed, stream, base, stride, out);
    case PhiloxPath::Auto:
    case PhiloxPath::Avx2:
#if PR_PHILOX_AVX2
      if (kHasAvx2) return philox_lanes_avx2(seed, stream, base, stride, out);
#endif
      return philox_lanes_generic(seed, stream, base, stride, out);
  }
}

void philox_words01(uint64_t seed, uint64_t stream, uint64_t base, int64_t n, uint32_t* w0, uint32_t* w1) {
  PhiloxLanes lanes;
  int64_t i = 0;
  for (; i + 16 <= n; i += kPhiloxLanes) {
    philox_lanes(seed, stream, base + static_cast<uint64_t>(i), 1, lanes);
    const int64_t cnt = n - i < kPhiloxLanes ? n - i : kPhiloxLanes;
    for (int64_t l = 0; l < cnt; ++l) {
      w0[i + l] = lanes.w[0][l];
      w1[i + l] = lanes.w[1][l];
    }
  }
  for (; i < n; ++i) {  // a short tail: block by block
    const Philox4 r = philox_block(seed, stream, base + static_cast<uint64_t>(i));
    w0[i] = r.v[0];
    w1[i] = r.v[1];
  }
}

}  // namespace pyrepair
