// Kernel family `random`: fill a buffer from the Philox 4x32-10 stream (common/rng.h).
//
// Element g of the stream (g = offset + i for output i) comes from word g % 4 of Philox block g / 4 of
// (seed, stream). Uniform and normal outputs are functions of those words only (normal: Box-Muller on words
// (0,1) and (2,3) of the block, cosine for even g, sine for odd g), so any slice of the stream can be produced
// independently, on any device, with any thread count.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/macros.h"
#include "common/rng.h"

namespace pyrepair {

enum class Distribution : int { Bits = 0, Uniform = 1, Normal = 2 };

struct RandomParams {
  void* out;                  // output buffer: uint32 for Bits, float32 otherwise; `n` elements, contiguous
  int64_t n;                  // number of elements to write
  uint64_t seed;              // Philox key (64 bit)
  uint64_t stream;            // Philox counter words 2-3: independent sub-streams under one seed
  uint64_t offset;            // index of the first element within the stream
  Distribution dist;          // what to write
};

// The four float values of one Philox block (shared by the CPU loop and the CUDA kernel). Uniform: one per word.
// Normal: Box-Muller on words (0, 1) and (2, 3); each pair gives a cosine (even element) and a sine (odd element),
// so every logarithm and square root is computed once per pair.
PR_HD void random_block_values(const Philox4& w, Distribution dist, float v[4]) {
  if (dist == Distribution::Uniform) {
    for (int k = 0; k < 4; ++k) v[k] = uint_to_unit_float(w.v[k]);
    return;
  }
  for (int pair = 0; pair < 2; ++pair) {
    const float u1 = uint_to_unit_float(w.v[2 * pair]);
    const float u2 = uint_to_unit_float(w.v[2 * pair + 1]);
    const float r = sqrtf(-2.0f * logf(u1));
    const float t = 6.283185307179586f * u2;
    v[2 * pair] = r * cosf(t);
    v[2 * pair + 1] = r * sinf(t);
  }
}

// Thread body of random_fill_kernel and of the CPU loop: Philox block b0 + bi written to the outputs of
// [offset, offset + n) it covers (up to four).
PR_HD void random_fill_block(const RandomParams& p, uint64_t b0, int64_t bi) {
  const uint64_t first = p.offset;
  const uint64_t last = p.offset + static_cast<uint64_t>(p.n);  // exclusive
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

// The Philox blocks touched by [offset, offset + n): first block b0 and count.
PR_HD int64_t random_fill_blocks(const RandomParams& p, uint64_t* b0) {
  *b0 = p.offset >> 2;
  return static_cast<int64_t>(((p.offset + static_cast<uint64_t>(p.n) - 1) >> 2) - *b0 + 1);
}

void random_fill_cpu(const RandomParams& p);
#if PYREPAIR_WITH_CUDA
void random_fill_cuda(const RandomParams& p, uintptr_t stream, int device);
int cuda_device_count();
#endif

}  // namespace pyrepair
