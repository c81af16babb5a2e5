// CPU loops of the spatial corruptions fog and pixelate (math in corrupt2.h). Work items are fixed by the
// shapes, never by the thread count, so any number of threads gives the same result.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/corrupt2.h"

namespace pyrepair {

namespace {

// Pixelate: one plane (image, channel) per work item.
void pixelate_cpu(const Corrupt2Params& p) {
  const int64_t hw = p.plane();
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      float* out = p.out + pl * hw;
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t q = 0; q < p.w; ++q) out[y * p.w + q] = pixelate_value(x, p.h, p.w, p.n1, p.n2, y, q);
      }
    }
  });
}

// The N x N plasma map of one image (diamond-square, octave by octave; each phase reads only earlier phases).
void plasma_cpu(const Corrupt2Params& p, uint64_t stream, std::vector<double>& m) {
  const int64_t n = p.n1;
  std::fill(m.begin(), m.end(), 0.0);
  double wib = 100.0;
  const double decay = static_cast<double>(p.b2);
  for (int64_t step = n; step >= 2; step /= 2) {
    const int64_t half = step / 2;
    for (int64_t r = half; r < n; r += step) {
      for (int64_t q = half; q < n; q += step) {
        m[r * n + q] = plasma_square(m.data(), n, r, q, half) + plasma_noise(p.seed, stream, r * n + q, wib);
      }
    }
    for (int64_t r = 0; r < n; r += half) {
      for (int64_t q = (r % step == 0) ? half : 0; q < n; q += step) {
        m[r * n + q] = plasma_diamond(m.data(), n, r, q, half) + plasma_noise(p.seed, stream, r * n + q, wib);
      }
    }
    wib = wib / decay;
  }
}

// Fog: one image per work item (the plasma recursion is sequential across octaves).
void fog_cpu(const Corrupt2Params& p) {
  const int64_t n = p.n1;
  const int64_t hw = p.plane();
  const int64_t img_size = p.image();
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> m(static_cast<size_t>(n * n));
    for (int64_t img = begin; img < end; ++img) {
      plasma_cpu(p, corrupt2_stream(p, img), m);
      double lo = m[0], hi = m[0];
      for (double v : m) {
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      const double range = hi - lo;
      const float* x = p.x + img * img_size;
      float* out = p.out + img * img_size;
      float xmax = x[0];
      for (int64_t k = 1; k < img_size; ++k) xmax = x[k] > xmax ? x[k] : xmax;
      const double strength = static_cast<double>(p.a);
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t q = 0; q < p.w; ++q) {
          const double pv = range > 0.0 ? (m[y * n + q] - lo) / range : 0.0;
          for (int64_t ch = 0; ch < p.c; ++ch) {
            const int64_t i = ch * hw + y * p.w + q;
            out[i] = fog_value(x[i], pv, strength, static_cast<double>(xmax));
          }
        }
      }
    }
  });
}

}  // namespace

void corrupt2_cpu(const Corrupt2Params& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (p.kind == Corruption2::Fog) {
    fog_cpu(p);
  } else {
    pixelate_cpu(p);
  }
}

}  // namespace pyrepair
