// CPU loops of the noise corruptions: gaussian, shot, impulse, speckle (math in corrupt.h).
#include <cstdint>

#include "common/parallel.h"
#include "common/rng.h"
#include "corrupt/corrupt.h"

namespace pyrepair {

namespace {

// Gaussian, speckle and impulse: one Philox block per four consecutive elements of an image; work items are
// (image, block) pairs, so every output is written from its own indices (any thread count, same result).
void block_noise_cpu(const CorruptParams& p) {
  const int64_t n = p.image();
  const int64_t nblk = (n + 3) / 4;
  parallel_for(p.b * nblk, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t img = t / nblk;
      const int64_t blk = t % nblk;
      const Philox4 w = philox_block(p.seed, corrupt_stream(p, img), static_cast<uint64_t>(blk));
      const float* x = p.x + img * n;
      float* out = p.out + img * n;
      if (p.kind == Corruption::ImpulseNoise) {
        impulse_block(x, out, blk * 4, n, w, p.a);
      } else {
        normal_noise_block(x, out, blk * 4, n, w, p.a, p.kind == Corruption::SpeckleNoise);
      }
    }
  });
}

void shot_noise_cpu(const CorruptParams& p) {
  const int64_t n = p.image();
  parallel_for(p.b * n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t img = t / n;
      const int64_t i = t % n;
      p.out[t] = shot_value(p.x[t], p.a, p.seed, corrupt_stream(p, img), static_cast<uint64_t>(i));
    }
  });
}

}  // namespace

void corrupt_noise_cpu(const CorruptParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (p.kind == Corruption::ShotNoise) {
    shot_noise_cpu(p);
  } else {
    block_noise_cpu(p);
  }
}

}  // namespace pyrepair
