// Kernel family `corrupt` (second half): the spatial corruptions fog (spec/deeprepair.md §C.2 item 10, plasma
// fractal of §C.0) and pixelate (§C.2 item 14, Pillow BOX resize down and back up), batched over float32
// (B, C, H, W) images in [0, 1], C in {1, 3}.
//
// Randomness (common/rng.h, Philox 4x32-10): key = seed; image b draws from the stream of corrupt.h,
//   ((index_offset + b) * 32 + corruption id) * 8 + severity            (wraps mod 2^64).
// fog: every cell (r, q) of the N x N plasma map except (0, 0) receives exactly one noise draw over the whole
// diamond-square recursion; it uses block r * N + q of the stream, words (0, 1) -> unit53 (corrupt.h). So the map
// is a pure function of (seed, global image index, severity, N, wibbledecay). pixelate draws nothing.
//
// Float discipline: compiled without FMA contraction (-ffp-contract=off / --fmad=false, CMakeLists.txt); the
// plasma map and the fog blend are evaluated in float64 in the reference's operation order
// (pyrepair/corrupt/_fogpixel.py is the torch oracle), so CPU, CUDA and the reference agree bit for bit.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/corrupt.h"

namespace pyrepair {

enum class FogPixelKind : int {
  Fog = static_cast<int>(CorruptionId::Fog),
  Pixelate = static_cast<int>(CorruptionId::Pixelate),
};

struct FogPixelParams {
  const float* x;         // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;             // output, same shape; may not alias x
  int64_t b;              // batch size
  int64_t c;              // channels (1 or 3)
  int64_t h;              // height
  int64_t w;              // width
  FogPixelKind kind;       // which corruption
  float a;                // fog: strength; pixelate: unused
  float b2;               // fog: wibbledecay; pixelate: unused
  int64_t n1;             // fog: plasma map size N (power of two >= max(H, W)); pixelate: down height
  int64_t n2;             // pixelate: down width; fog: unused
  uint64_t seed;          // Philox key
  uint64_t index_offset;  // global index of image 0 (RNG key)
  int severity;           // 1..5 (RNG key only)
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
};

PR_HD uint64_t fogpixel_stream(const FogPixelParams& p, int64_t image) {
  return corruption_stream(p.index_offset, image, static_cast<CorruptionId>(p.kind), p.severity);
}

// ---- pixelate: Pillow's BOX filter (libImaging/Resample.c precompute_coeffs, box_filter) ----------------------

// Source range [lo, hi) of down-sampled pixel j when resizing S -> n (n <= S) with BOX: the pixels whose centres
// fall in the footprint, (x + 0.5 - center) / scale in (-0.5, 0.5]; all weights equal (no fractional coverage).
PR_HD void box_down_range(int64_t j, int64_t s, int64_t n, int64_t& lo, int64_t& hi) {
  const double scale = static_cast<double>(s) / static_cast<double>(n);
  const double filterscale = scale > 1.0 ? scale : 1.0;
  const double support = 0.5 * filterscale;
  const double center = (static_cast<double>(j) + 0.5) * scale;
  const double ss = 1.0 / filterscale;
  int64_t xmin = static_cast<int64_t>(center - support + 0.5);
  if (xmin < 0) xmin = 0;
  int64_t xmax = static_cast<int64_t>(center + support + 0.5);
  if (xmax > s) xmax = s;
  lo = xmax;
  hi = xmin;
  for (int64_t x = xmin; x < xmax; ++x) {
    const double t = (static_cast<double>(x) - center + 0.5) * ss;
    if (t > -0.5 && t <= 0.5) {
      if (x < lo) lo = x;
      hi = x + 1;
    }
  }
  if (hi <= lo) {  // unreachable for 1 <= n <= S; keep one pixel
    lo = xmin < s ? xmin : s - 1;
    hi = lo + 1;
  }
}

// Pillow BOX up-sampling n -> S (n <= S) selects exactly one source pixel, floor((y + 0.5) * n / S) (== NEAREST).
PR_HD int64_t box_up_index(int64_t y, int64_t n, int64_t s) {
  const double scale = static_cast<double>(n) / static_cast<double>(s);
  int64_t j = static_cast<int64_t>((static_cast<double>(y) + 0.5) * scale);
  return j < n ? j : n - 1;
}

// Output pixel (y, q) of one plane: mean of the source rectangle of its down-sampled pixel, float64 sum in
// row-major order divided by the count.
PR_HD float pixelate_value(const float* plane, int64_t h, int64_t w, int64_t nh, int64_t nw, int64_t y, int64_t q) {
  int64_t r0, r1, c0, c1;
  box_down_range(box_up_index(y, nh, h), h, nh, r0, r1);
  box_down_range(box_up_index(q, nw, w), w, nw, c0, c1);
  double sum = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t k = c0; k < c1; ++k) sum += static_cast<double>(plane[r * w + k]);
  }
  const double cnt = static_cast<double>((r1 - r0) * (c1 - c0));
  return clip01(static_cast<float>(sum / cnt));
}

// ---- fog: plasma fractal (diamond-square with wrap-around, §C.0) ----------------------------------------------

// Noise of cell `cell` at amplitude wib: wib * U(-wib, wib), numpy's uniform form low + (high - low) * u.
PR_HD double plasma_noise(uint64_t seed, uint64_t stream, int64_t cell, double wib) {
  const Philox4 r = philox_block(seed, stream, static_cast<uint64_t>(cell));
  const double u = unit53(r.v[0], r.v[1]);
  const double lo = -wib;
  return wib * (lo + (wib - lo) * u);
}

// Phase 0 (square step) of octave `step` for cell (r, q) with r % step == q % step == step / 2.
PR_HD double plasma_square(const double* m, int64_t n, int64_t r, int64_t q, int64_t half) {
  const int64_t ru = (r - half + n) % n, rd = (r + half) % n;
  const int64_t cl = (q - half + n) % n, cr = (q + half) % n;
  const double a = m[ru * n + cl] + m[rd * n + cl];
  const double b = m[ru * n + cr] + m[rd * n + cr];
  return (a + b) / 4.0;
}

// Phase 1 (diamond step) for cell (r, q): row midpoints (r % step == 0, q % step == half) and column midpoints
// (r % step == half, q % step == 0), with the reference's summation order.
PR_HD double plasma_diamond(const double* m, int64_t n, int64_t r, int64_t q, int64_t half) {
  const int64_t ru = (r - half + n) % n, rd = (r + half) % n;
  const int64_t cl = (q - half + n) % n, cr = (q + half) % n;
  if (r % (2 * half) == 0) {
    const double d = m[rd * n + q] + m[ru * n + q];
    const double u = m[r * n + cl] + m[r * n + cr];
    return (d + u) / 4.0;
  }
  const double d = m[r * n + cr] + m[r * n + cl];
  const double u = m[ru * n + q] + m[rd * n + q];
  return (d + u) / 4.0;
}

// fog blend of one value: clip(((x + s * p) * m) / (m + s)) in float64.
PR_HD float fog_value(float x, double p, double strength, double xmax) {
  const double den = xmax + strength;
  const double v = static_cast<double>(x) + strength * p;
  if (den == 0.0) return clip01(x);
  return clip01(static_cast<float>(v * xmax / den));
}

// ---- thread bodies of fogpixel_cuda.cu (also run on the host by the CpuPath::Device route, fogpixel_cpu.cpp) ----

// Pixelate: thread t = one output element.
PR_HD void pixelate_thread(const FogPixelParams& p, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t pl = t / hw;
  const int64_t k = t % hw;
  p.out[t] = pixelate_value(p.x + pl * hw, p.h, p.w, p.n1, p.n2, k / p.w, k % p.w);
}

// Cells of one phase of octave `step` per image: phase 0 = square step (cells (half + i step, half + j step)),
// phase 1 = diamond step (row midpoints, then column midpoints).
PR_HD int64_t plasma_phase_cells(int64_t n, int64_t step, int phase) {
  const int64_t per = n / step;
  return phase == 0 ? per * per : 2 * per * per;
}

// One plasma phase: thread t = cell t % cells of image t / cells; maps = B maps of N x N, each phase reads only
// cells written by earlier phases.
PR_HD void plasma_phase_thread(const FogPixelParams& p, double* maps, int64_t step, int phase, double wib,
                               int64_t t) {
  const int64_t n = p.n1;
  const int64_t half = step / 2;
  const int64_t per = n / step;
  const int64_t cells = plasma_phase_cells(n, step, phase);
  const int64_t img = t / cells;
  int64_t k = t % cells;
  int64_t r, q;
  if (phase == 0) {
    r = half + (k / per) * step;
    q = half + (k % per) * step;
  } else if (k < per * per) {
    r = (k / per) * step;
    q = half + (k % per) * step;
  } else {
    k -= per * per;
    r = half + (k / per) * step;
    q = (k % per) * step;
  }
  double* m = maps + img * n * n;
  const double base = phase == 0 ? plasma_square(m, n, r, q, half) : plasma_diamond(m, n, r, q, half);
  m[r * n + q] = base + plasma_noise(p.seed, fogpixel_stream(p, img), r * n + q, wib);
}

// The launch schedule of the plasma map (host side, fogpixel_cuda.cu and the device route of fogpixel_cpu.cpp):
// octaves step = N, N / 2, ..., 2, each a square phase then a diamond phase at amplitude wib (100, then divided by
// wibbledecay per octave); phase(step, ph, wib, cells per image) launches one phase.
template <typename Phase>
void plasma_schedule(const FogPixelParams& p, const Phase& phase) {
  double wib = 100.0;
  const double decay = static_cast<double>(p.b2);
  for (int64_t step = p.n1; step >= 2; step /= 2) {
    for (int ph = 0; ph < 2; ++ph) phase(step, ph, wib, plasma_phase_cells(p.n1, step, ph));
    wib = wib / decay;
  }
}

// Fog blend of pixel k (all channels) of image img, given the map's min `lo` and range and the image's max.
PR_HD void fog_pixel(const FogPixelParams& p, const double* m, int64_t img, int64_t k, double lo, double range,
                     double xmax) {
  const int64_t hw = p.plane();
  const float* x = p.x + img * p.image();
  float* out = p.out + img * p.image();
  const double pv = range > 0.0 ? (m[(k / p.w) * p.n1 + k % p.w] - lo) / range : 0.0;
  const double strength = static_cast<double>(p.a);
  for (int64_t ch = 0; ch < p.c; ++ch) out[ch * hw + k] = fog_value(x[ch * hw + k], pv, strength, xmax);
}

// Entry points: fogpixel_cpu.cpp (OpenMP) and fogpixel_cuda.cu.
void fogpixel_cpu(const FogPixelParams& p);
#if PYREPAIR_WITH_CUDA
void fogpixel_cuda(const FogPixelParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
