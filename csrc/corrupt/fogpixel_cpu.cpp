// CPU loops of the spatial corruptions fog and pixelate (math in fogpixel.h). Work items are fixed by the
// shapes, never by the thread count, so any number of threads gives the same result.
//
// Same values as the per-pixel functions of fogpixel.h, with the per-pixel index math hoisted: pixelate computes
// each down-sampled pixel once (same float64 sum, same order) and gathers it; fog draws the plasma noise of all
// cells up front (same Philox words) and wraps indices with masks when N is a power of two.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "corrupt/fogpixel.h"
#include "common/simd.h"

namespace pyrepair {

namespace {

// Pixelate: one plane (image, channel) per work item; the down-sampled plane first, then the nearest gather.
void pixelate_cpu(const FogPixelParams& p) {
  const int64_t hw = p.plane();
  const int64_t nh = p.n1, nw = p.n2;
  std::vector<int64_t> r0(nh), r1(nh), c0(nw), c1(nw), uy(p.h), uq(p.w);
  for (int64_t j = 0; j < nh; ++j) box_down_range(j, p.h, nh, r0[j], r1[j]);
  for (int64_t k = 0; k < nw; ++k) box_down_range(k, p.w, nw, c0[k], c1[k]);
  for (int64_t y = 0; y < p.h; ++y) uy[y] = box_up_index(y, nh, p.h);
  for (int64_t q = 0; q < p.w; ++q) uq[q] = box_up_index(q, nw, p.w);
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> sums(static_cast<size_t>(nw));
    std::vector<float> down(static_cast<size_t>(nh * nw));
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      float* out = p.out + pl * hw;
      for (int64_t j = 0; j < nh; ++j) {
        // each down pixel sums its rectangle row by row, left to right (pixelate_value's order); the down pixels
        // of one row are interleaved, which does not change any single sum
        std::fill(sums.begin(), sums.end(), 0.0);
        for (int64_t r = r0[j]; r < r1[j]; ++r) {
          const float* row = x + r * p.w;
          for (int64_t k = 0; k < nw; ++k) {
            double s = sums[k];
            for (int64_t q = c0[k]; q < c1[k]; ++q) s += static_cast<double>(row[q]);
            sums[k] = s;
          }
        }
        for (int64_t k = 0; k < nw; ++k) {
          const double cnt = static_cast<double>((r1[j] - r0[j]) * (c1[k] - c0[k]));
          down[j * nw + k] = clip01(static_cast<float>(sums[k] / cnt));
        }
      }
      for (int64_t y = 0; y < p.h; ++y) {
        const float* src = down.data() + uy[y] * nw;
        float* d = out + y * p.w;
        for (int64_t q = 0; q < p.w; ++q) d[q] = src[uq[q]];
      }
    }
  });
}

// The N x N plasma map of one image (diamond-square, octave by octave; each phase reads only earlier phases).
// u: scratch of N * N uniforms, w0 / w1: scratch of N * N words.
void plasma_cpu(const FogPixelParams& p, uint64_t stream, std::vector<double>& m, std::vector<double>& u,
                std::vector<uint32_t>& w0, std::vector<uint32_t>& w1) {
  const int64_t n = p.n1;
  const int64_t nn = n * n;
  philox_words01(p.seed, stream, 0, nn, w0.data(), w1.data());
  for (int64_t k = 0; k < nn; ++k) u[k] = unit53(w0[k], w1[k]);
  std::fill(m.begin(), m.end(), 0.0);
  double wib = 100.0;
  const double decay = static_cast<double>(p.b2);
  const bool pow2 = (n & (n - 1)) == 0;
  const int64_t mask = n - 1;
  auto wrap = [&](int64_t i) { return pow2 ? (i & mask) : ((i % n + n) % n); };
  auto noise = [&](int64_t cell, double wv) {
    const double lo = -wv;
    return wv * (lo + (wv - lo) * u[cell]);
  };
  double* mm = m.data();
  for (int64_t step = n; step >= 2; step /= 2) {
    const int64_t half = step / 2;
    for (int64_t r = half; r < n; r += step) {
      const int64_t ru = wrap(r - half), rd = wrap(r + half);
      for (int64_t q = half; q < n; q += step) {
        const int64_t cl = wrap(q - half), cr = wrap(q + half);
        const double a = mm[ru * n + cl] + mm[rd * n + cl];
        const double b = mm[ru * n + cr] + mm[rd * n + cr];
        mm[r * n + q] = (a + b) / 4.0 + noise(r * n + q, wib);
      }
    }
    for (int64_t r = 0; r < n; r += half) {
      const int64_t ru = wrap(r - half), rd = wrap(r + half);
      const bool row_mid = r % step == 0;
      for (int64_t q = row_mid ? half : 0; q < n; q += step) {
        const int64_t cl = wrap(q - half), cr = wrap(q + half);
        double v;
        if (row_mid) {
          const double d = mm[rd * n + q] + mm[ru * n + q];
          const double up = mm[r * n + cl] + mm[r * n + cr];
          v = (d + up) / 4.0;
        } else {
          const double d = mm[r * n + cr] + mm[r * n + cl];
          const double up = mm[ru * n + q] + mm[rd * n + q];
          v = (d + up) / 4.0;
        }
        mm[r * n + q] = v + noise(r * n + q, wib);
      }
    }
    wib = wib / decay;
  }
}

// Fog blend of one row of one plane (fog_value with den != 0 hoisted).
PR_CLONES void fog_row(const float* __restrict x, const double* __restrict pv, float* __restrict out, int64_t w,
                       double strength, double xmax, double den) {
  for (int64_t q = 0; q < w; ++q) {
    const double v = static_cast<double>(x[q]) + strength * pv[q];
    out[q] = clip01(static_cast<float>(v * xmax / den));
  }
}

// Fog: one image per work item (the plasma recursion is sequential across octaves).
void fog_cpu(const FogPixelParams& p) {
  const int64_t n = p.n1;
  const int64_t hw = p.plane();
  const int64_t img_size = p.image();
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> m(static_cast<size_t>(n * n)), u(static_cast<size_t>(n * n)), pv(static_cast<size_t>(p.w));
    std::vector<uint32_t> w0(static_cast<size_t>(n * n)), w1(static_cast<size_t>(n * n));
    for (int64_t img = begin; img < end; ++img) {
      plasma_cpu(p, fogpixel_stream(p, img), m, u, w0, w1);
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
      const double xm = static_cast<double>(xmax);
      const double den = xm + strength;
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t q = 0; q < p.w; ++q) pv[q] = range > 0.0 ? (m[y * n + q] - lo) / range : 0.0;
        for (int64_t ch = 0; ch < p.c; ++ch) {
          const int64_t i = ch * hw + y * p.w;
          if (den == 0.0) {
            for (int64_t q = 0; q < p.w; ++q) out[i + q] = clip01(x[i + q]);
          } else {
            fog_row(x + i, pv.data(), out + i, p.w, strength, xm, den);
          }
        }
      }
    }
  });
}

}  // namespace

// CpuPath::Device: fogpixel_cuda.cu's launches: pixelate_thread; plasma_schedule of plasma_phase_thread, then per
// image the map's min / max and the image's max (exact in any order) and fog_pixel.
static void fogpixel_device_path(const FogPixelParams& p) {
  if (p.kind == FogPixelKind::Pixelate) {
    host_launch(p.b * p.image(), [&](int64_t t) { pixelate_thread(p, t); });
    return;
  }
  const int64_t n = p.n1;
  std::vector<double> maps(static_cast<size_t>(p.b * n * n), 0.0);
  plasma_schedule(p, [&](int64_t step, int phase, double wib, int64_t cells) {
    host_launch(p.b * cells, [&](int64_t t) { plasma_phase_thread(p, maps.data(), step, phase, wib, t); });
  });
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    for (int64_t img = begin; img < end; ++img) {
      const double* m = maps.data() + img * n * n;
      const float* x = p.x + img * p.image();
      double lo = m[0], hi = m[0];
      for (int64_t k = 0; k < n * n; ++k) {
        lo = std::fmin(lo, m[k]);
        hi = std::fmax(hi, m[k]);
      }
      float xm = x[0];
      for (int64_t k = 0; k < p.image(); ++k) xm = std::fmax(xm, x[k]);
      for (int64_t k = 0; k < p.plane(); ++k) fog_pixel(p, m, img, k, lo, hi - lo, static_cast<double>(xm));
    }
  });
}

void fogpixel_cpu(const FogPixelParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return fogpixel_device_path(p);
  if (p.kind == FogPixelKind::Fog) {
    fog_cpu(p);
  } else {
    pixelate_cpu(p);
  }
}

}  // namespace pyrepair
