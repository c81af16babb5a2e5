// Kernel family `transform`: SENSEI's batched affine + photometric warp and the AugMix operations.
//
// Three kernels, each with a Params struct and per-element math shared by the CPU loop and the CUDA kernel:
//   * warp:    out[p, n] = normalise(photometric(bilinear(src[index[n]], A[p, n] · (x, y, 1))))   (SENSEI, AugMix
//              rotate / shear / translate); A is the inverse map from output to source pixel indices, built in
//              Python (float64, then float32) from SENSEI's parameters or Pillow's affine coefficients;
//   * point:   a 256-entry lookup table per (image, channel) on 8-bit levels k = rint(255 v) (autocontrast,
//              equalize, posterize, solarize; the first two from the plane's histogram), Pillow ImageOps semantics;
//   * enhance: Pillow ImageEnhance blends clip(d + f (x - d), 0, 1) with a degenerate image d (grey, mean grey,
//              black, SMOOTH-filtered interior).
// The torch oracle is pyrepair/transform/reference.py. Coordinates: pixel (x, y) has its centre at integer (x, y).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/index.h"
#include "common/macros.h"

namespace pyrepair {

enum class Sampler : int { Zeros = 0, Pil = 1 };  // must match pyrepair/transform/__init__.py _SAMPLER
enum class PointOp : int { Autocontrast = 0, Equalize = 1, Posterize = 2, Solarize = 3 };
enum class EnhanceOp : int { Color = 0, Contrast = 1, Brightness = 2, Sharpness = 3 };

struct WarpParams {
  const float* src;          // (B, C, H, W) source images, contiguous
  const int64_t* index;      // (N,) source image of output column n, each in [0, B)
  const float* matrices;     // (P, N, 6) row-major 2x3 inverse maps: source index = A · (x, y, 1)
  const float* photometric;  // (P, N, 2) [brightness, contrast] per output image, or nullptr for none
  const float* mean;         // (C,) normalisation mean, or nullptr for no normalisation
  const float* std;          // (C,) normalisation std (> 0); non-null exactly when mean is
  float* out;                // (P, N, C, H, W) output, contiguous
  int64_t variants;          // P: variants per output column
  int64_t n;                 // N: output columns (one source image each)
  int64_t b;                 // B: source images
  int64_t c;                 // channels
  int64_t h;                 // height (source and output)
  int64_t w;                 // width (source and output)
  float pivot;               // contrast pivot, image units
  Sampler sampler;           // Zeros: SENSEI (zero per tap); Pil: Pillow's bilinear filter
};

struct PointParams {
  const float* src;      // (B, C, H, W) images, contiguous
  const int32_t* param;  // (B,) posterize bits in [0, 8] / solarize threshold level in [0, 256]; unused otherwise
  float* out;            // (B, C, H, W) output, values level / 255
  int64_t b;             // batch size
  int64_t c;             // channels
  int64_t h;             // height
  int64_t w;             // width
  PointOp op;            // which lookup table
};

struct EnhanceParams {
  const float* src;     // (B, C, H, W) images, contiguous
  const float* factor;  // (B,) enhancement factor per image
  float* out;           // (B, C, H, W) output, clipped to [0, 1]
  int64_t b;            // batch size
  int64_t c;            // channels (1 or 3 for Color / Contrast)
  int64_t h;            // height
  int64_t w;            // width
  EnhanceOp op;         // which degenerate image
};

// ---------------------------------------------------------------------------------------------------------------
// Warp
// ---------------------------------------------------------------------------------------------------------------

// Four bilinear taps: plane offsets and weights. Invalid taps get weight 0 and offset 0 (a safe, finite read), so
// a point on a pixel centre yields exactly that pixel (weights 1, 0, 0, 0).
struct Taps {
  int64_t off[4];  // y * W + x of taps (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)
  float wt[4];     // bilinear weights; all 0 when the point lies outside the sampled region
};

// floor(v) for finite |v| < 2^62 by truncation and correction: exact, and a single instruction on x86-64 where
// floorf is a library call below SSE4.1.
PR_HD int64_t floor_to_int(float v) {
  const int64_t i = static_cast<int64_t>(v);
  return i - (v < static_cast<float>(i) ? 1 : 0);
}

// Taps of source point (px, py) in pixel indices.
//   Zeros: each tap outside [0, W-1] x [0, H-1] contributes 0 (grid_sample bilinear / zeros, SENSEI §2.2).
//   Pil:   Pillow's bilinear filter: a point outside [-1/2, W-1/2) x [-1/2, H-1/2) is 0, inside it the taps are
//          clamped to the image (edge replication).
template <Sampler S>
PR_HD Taps bilinear_taps(float px, float py, int64_t h, int64_t w) {
  Taps t;
  const float fw = static_cast<float>(w), fh = static_cast<float>(h);
  const bool inside = S == Sampler::Zeros ? (px > -1.0f && px < fw && py > -1.0f && py < fh)
                                          : (px >= -0.5f && px < fw - 0.5f && py >= -0.5f && py < fh - 0.5f);
  if (!inside) {  // also keeps the float -> int conversions below in range
    for (int k = 0; k < 4; ++k) {
      t.off[k] = 0;
      t.wt[k] = 0.0f;
    }
    return t;
  }
  const int64_t x0 = floor_to_int(px), y0 = floor_to_int(py);
  const float fx = px - static_cast<float>(x0), fy = py - static_cast<float>(y0);
  const float wx[2] = {1.0f - fx, fx};
  const float wy[2] = {1.0f - fy, fy};
  if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) {
    // Interior (the common case): all four taps valid under both samplers, so no per-tap checks; the same
    // weights and offsets as the general loop below.
    const int64_t o = y0 * w + x0;
    t.off[0] = o;
    t.off[1] = o + 1;
    t.off[2] = o + w;
    t.off[3] = o + w + 1;
    t.wt[0] = wx[0] * wy[0];
    t.wt[1] = wx[1] * wy[0];
    t.wt[2] = wx[0] * wy[1];
    t.wt[3] = wx[1] * wy[1];
    return t;
  }
  for (int k = 0; k < 4; ++k) {
    int64_t xi = x0 + (k & 1), yi = y0 + (k >> 1);
    float wt = wx[k & 1] * wy[k >> 1];
    if (S == Sampler::Zeros) {
      const bool valid = xi >= 0 && xi < w && yi >= 0 && yi < h;
      wt = valid ? wt : 0.0f;
      xi = valid ? xi : 0;
      yi = valid ? yi : 0;
    } else {
      xi = clamp_index(xi, w);
      yi = clamp_index(yi, h);
    }
    t.off[k] = yi * w + xi;
    t.wt[k] = wt;
  }
  return t;
}

PR_HD float sample_taps(const float* PR_RESTRICT plane, const Taps& t) {
  return t.wt[0] * plane[t.off[0]] + t.wt[1] * plane[t.off[1]] + t.wt[2] * plane[t.off[2]] +
         t.wt[3] * plane[t.off[3]];
}

// Two selects (maxss / minss on x86, no data-dependent branch).
PR_HD float clamp01(float v) {
  v = v > 0.0f ? v : 0.0f;
  return v < 1.0f ? v : 1.0f;
}

// SENSEI's photometric part (image units): brightness then contrast, each clipped; the neutral values are skipped
// so the identity is exact.
PR_HD float photometric(float v, float beta, float kappa, float pivot) {
  if (beta != 0.0f) v = clamp01(v + beta);
  if (kappa != 1.0f) v = clamp01(pivot + kappa * (v - pivot));
  return v;
}

// Source index of output pixel (x, y) under the row-major 2x3 map a.
PR_HD void map_point(const float* PR_RESTRICT a, int64_t x, int64_t y, float& px, float& py) {
  const float fx = static_cast<float>(x), fy = static_cast<float>(y);
  px = a[0] * fx + a[1] * fy + a[2];
  py = a[3] * fx + a[4] * fy + a[5];
}

// All C channels of output pixel (x, y) of output image (p, n).
template <Sampler S>
PR_HD void warp_pixel(const WarpParams& p, int64_t pv, int64_t n, int64_t y, int64_t x) {
  const int64_t plane = p.h * p.w;
  const int64_t img = pv * p.n + n;
  float px, py;
  map_point(p.matrices + img * 6, x, y, px, py);
  const Taps t = bilinear_taps<S>(px, py, p.h, p.w);
  const float* src = p.src + p.index[n] * p.c * plane;
  float* out = p.out + img * p.c * plane + y * p.w + x;
  const float beta = p.photometric ? p.photometric[img * 2] : 0.0f;
  const float kappa = p.photometric ? p.photometric[img * 2 + 1] : 1.0f;
  for (int64_t ch = 0; ch < p.c; ++ch) {
    float v = photometric(sample_taps(src + ch * plane, t), beta, kappa, p.pivot);
    if (p.mean) v = (v - p.mean[ch]) / p.std[ch];
    out[ch * plane] = v;
  }
}

// Thread body of warp_kernel (transform_cuda.cu) and of the CpuPath::Device route of warp_cpu: thread i = pixel
// (y, x) of output item n * P + pv.
template <Sampler S>
PR_HD void warp_thread(const WarpParams& p, int64_t i) {
  const int64_t plane = p.h * p.w;
  const int64_t item = i / plane;  // n * P + pv
  warp_pixel<S>(p, item % p.variants, item / p.variants, (i / p.w) % p.h, i % p.w);
}

// ---------------------------------------------------------------------------------------------------------------
// Point (8-bit lookup tables)
// ---------------------------------------------------------------------------------------------------------------

// 8-bit level of a value: rint(255 v) (round half to even, as torch.round), clamped to [0, 255]. A single float
// product and a rounding: no contraction into an FMA can change it, so host and device agree. On the host, adding
// and subtracting 2^23 rounds a float in (0, 255) to an integer, half to even, under the default rounding mode
// (rintf is a library call on x86-64 below SSE4.1).
PR_HD int level_of(float v) {
  const float k = v * 255.0f;
  if (!(k > 0.0f)) return 0;  // also NaN (rejected in Python)
  if (k >= 255.0f) return 255;
#if defined(__CUDA_ARCH__)
  return static_cast<int>(rintf(k));
#else
  return static_cast<int>((k + 8388608.0f) - 8388608.0f);  // not folded: strict IEEE semantics (no -ffast-math)
#endif
}

// Double-precision product and sum rounded separately (as Python evaluates `ix * scale + offset` in Pillow):
// nvcc would otherwise contract them into one FMA and change truncated results.
PR_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
PR_HD double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// The 256-entry table of `op` for one plane with histogram `hist` (needed by Autocontrast and Equalize only) and
// per-image parameter `param`. Pillow ImageOps semantics (spec/deeprepair.md §B).
template <typename Count>
PR_HD void point_lut(PointOp op, int param, const Count* hist, int* lut) {
  for (int i = 0; i < 256; ++i) lut[i] = i;  // identity unless the op says otherwise
  if (op == PointOp::Posterize) {
    const int bits = param < 0 ? 0 : (param > 8 ? 8 : param);  // validated in Python; clamped to keep the shift defined
    const int mask = 0xFF & ~((1 << (8 - bits)) - 1);
    for (int i = 0; i < 256; ++i) lut[i] = i & mask;
  } else if (op == PointOp::Solarize) {
    for (int i = 0; i < 256; ++i) lut[i] = i >= param ? 255 - i : i;
  } else if (op == PointOp::Autocontrast) {
    int lo = 0, hi = 255;
    while (lo < 256 && hist[lo] == 0) ++lo;
    while (hi >= 0 && hist[hi] == 0) --hi;
    if (hi <= lo) return;
    const double scale = 255.0 / static_cast<double>(hi - lo);
    const double offset = -static_cast<double>(lo) * scale;
    for (int i = 0; i < 256; ++i) {
      const double v = add_rn(mul_rn(static_cast<double>(i), scale), offset);
      const int k = static_cast<int>(v);  // truncation toward zero, as Python's int()
      lut[i] = k < 0 ? 0 : (k > 255 ? 255 : k);
    }
  } else {  // Equalize
    int last = 255;
    while (last > 0 && hist[last] == 0) --last;
    int64_t total = 0;
    for (int i = 0; i < 256; ++i) total += static_cast<int64_t>(hist[i]);
    const int64_t step = (total - static_cast<int64_t>(hist[last])) / 255;
    if (step == 0) return;
    int64_t acc = step / 2;
    for (int i = 0; i < 256; ++i) {
      const int64_t k = acc / step;
      lut[i] = k > 255 ? 255 : static_cast<int>(k);
      acc += static_cast<int64_t>(hist[i]);
    }
  }
}

PR_HD bool point_needs_histogram(PointOp op) { return op == PointOp::Autocontrast || op == PointOp::Equalize; }

// ---------------------------------------------------------------------------------------------------------------
// Enhance (ImageEnhance blends)
// ---------------------------------------------------------------------------------------------------------------

// ITU-R 601-2 luma as Pillow's convert("L"), in float: (299 R + 587 G + 114 B) / 1000.
PR_HD float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

// Luminance of pixel i of an image with 1 or 3 channels.
PR_HD float pixel_luma(const float* PR_RESTRICT img, int64_t c, int64_t plane, int64_t i) {
  return c == 1 ? img[i] : luma(img[i], img[plane + i], img[2 * plane + i]);
}

// Image.blend(degenerate, image, f) in float, clipped; f == 1 returns x exactly.
PR_HD float blend(float x, float d, float f) { return f == 1.0f ? x : clamp01(d + f * (x - d)); }

// Pillow's SMOOTH filter [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 at interior pixel (y, x); border pixels are their own
// value (Pillow's 3x3 filters copy the one-pixel border).
PR_HD float smooth_at(const float* PR_RESTRICT plane, int64_t h, int64_t w, int64_t y, int64_t x) {
  const float* r = plane + y * w + x;
  if (y == 0 || x == 0 || y == h - 1 || x == w - 1) return *r;
  const float top = r[-w - 1] + r[-w] + r[-w + 1];
  const float mid = r[-1] + 5.0f * r[0] + r[1];
  const float bot = r[w - 1] + r[w] + r[w + 1];
  return (top + mid + bot) / 13.0f;
}

// Degenerate value of channel ch at pixel i = y * W + x for the per-pixel ops (Color, Brightness, Sharpness).
PR_HD float enhance_degenerate(const EnhanceParams& p, const float* PR_RESTRICT img, int64_t ch, int64_t y,
                               int64_t x) {
  const int64_t plane = p.h * p.w;
  const int64_t i = y * p.w + x;
  switch (p.op) {
    case EnhanceOp::Color:
      return pixel_luma(img, p.c, plane, i);
    case EnhanceOp::Sharpness:
      return smooth_at(img + ch * plane, p.h, p.w, y, x);
    default:  // Brightness (Contrast is handled with its per-image mean)
      return 0.0f;
  }
}

// Host entry points (CPU: transform_cpu.cpp; CUDA: transform_cuda.cu, launched on the given stream and device).
void warp_cpu(const WarpParams& p);
void point_cpu(const PointParams& p);
void enhance_cpu(const EnhanceParams& p);
#if PYREPAIR_WITH_CUDA
void warp_cuda(const WarpParams& p, uintptr_t stream, int device);
void point_cuda(const PointParams& p, uintptr_t stream, int device);
void enhance_cuda(const EnhanceParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
