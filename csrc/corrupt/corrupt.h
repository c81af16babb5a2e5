// Kernel family `corrupt`: the per-pixel CIFAR-10-C / ImageNet-C corruptions (spec/deeprepair.md §C.2 items 1, 2,
// 3, 11, 12, 16, 19), batched over float32 (B, C, H, W) images in [0, 1], C in {1, 3}.
//
// Randomness (common/rng.h, Philox 4x32-10): key = seed; image b draws from the 64-bit stream of corrupt/stream.h,
//   corruption_stream(index_offset, b, corruption id, severity) = ((index_offset + b) * 32 + id) * 8 + severity,
// and element i (NCHW-flat index within the image) from fixed blocks of it:
//   gaussian / speckle: Box-Muller on block i / 4 (words (0, 1) for i % 4 < 2, else (2, 3); cosine for even i,
//     sine for odd i), with the vectorisable fm_log / fm_sincos_2pi of common/fastmath.h;
//   impulse: uniform from word i % 4 of block i / 4;
//   shot: blocks i * 64 + j, j = 0..63 (inversion uses j = 0, the PTRS rejection loop uses attempt j = 0, 1, ...);
//     8-bit elements (x == float(k) / 255, photons <= 4096) invert a CDF table with the words of block i * 64
//     (poisson_table.h), the others take poisson_draw below.
// So results depend on (seed, global image index, corruption, severity, element) only: not on batch composition,
// thread count or device. pyrepair/corrupt/reference.py is the torch oracle that draws the same integers.
//
// Float discipline: the per-element math below is compiled without FMA contraction (CMakeLists sets
// -ffp-contract=off for the CPU sources and --fmad=false for corrupt_cuda.cu), so the +, -, *, / and sqrt steps
// round exactly as torch's: gaussian / speckle / impulse and the Poisson inversion are bit-identical across
// back-ends, and so is PTRS (its logs are fm_log_d / fm_log_factorial of common/fastmath.h; only sqrt and IEEE
// arithmetic besides), so shot noise counts are identical everywhere.
// noise_cpu.cpp runs the same formulas as SIMD loops over 64 lanes (same operations, same order).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/fastmath.h"
#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/poisson_table.h"
#include "corrupt/stream.h"
#include "random/random.h"

namespace pyrepair {

// Stable ids (spec §C.1 order); part of the RNG key. Only the per-pixel ones have kernels here.
enum class Corruption : int {
  GaussianNoise = static_cast<int>(CorruptionId::GaussianNoise),
  ShotNoise = static_cast<int>(CorruptionId::ShotNoise),
  ImpulseNoise = static_cast<int>(CorruptionId::ImpulseNoise),
  Brightness = static_cast<int>(CorruptionId::Brightness),
  Contrast = static_cast<int>(CorruptionId::Contrast),
  SpeckleNoise = static_cast<int>(CorruptionId::SpeckleNoise),
  Saturate = static_cast<int>(CorruptionId::Saturate),
};

struct CorruptParams {
  const float* x;         // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;             // output, same shape; may not alias x
  int64_t b;              // batch size
  int64_t c;              // channels (1 or 3)
  int64_t h;              // height
  int64_t w;              // width
  Corruption kind;        // which corruption
  float a;                // first constant: sigma | photons | amount | delta | factor | scale
  float b2;               // second constant: saturate shift (0 otherwise)
  uint64_t seed;          // Philox key
  uint64_t index_offset;  // global index of image 0 (RNG key)
  int severity;           // 1..5 (RNG key only)
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
};

constexpr int kPoissonBlocks = 64;            // Philox blocks reserved per element for shot noise
constexpr double kPoissonInversionMax = 10.0;  // lambda < this: inversion; otherwise PTRS
constexpr int kInversionMaxK = 100;           // sequential search cap (P(k > 100 | lambda < 10) < 1e-60)

PR_HD uint64_t corrupt_stream(const CorruptParams& p, int64_t image) {
  return corruption_stream(p.index_offset, image, static_cast<CorruptionId>(p.kind), p.severity);
}

PR_HD float clip01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

// float64 uniform in (0, 1) from two words: 27 + 26 bits plus one half, times 2^-53 (exact in float64).
PR_HD double unit53(uint32_t hi, uint32_t lo) {
  const uint64_t m = (static_cast<uint64_t>(hi >> 5) << 26) | static_cast<uint64_t>(lo >> 6);
  return (static_cast<double>(m) + 0.5) * 1.1102230246251565e-16;  // 2^-53
}

// ---- noise (one Philox block = four consecutive elements of one image) --------------------------------------

// Box-Muller on words (w1, w2) (common/fastmath.h): z_cos, z_sin = sqrt(-2 log u1) (cos, sin)(2 pi u2).
PR_HD void box_muller(uint32_t w1, uint32_t w2, float* z_cos, float* z_sin) {
  const float r = sqrtf(-2.0f * fm_log(uint_to_unit_float(w1)));
  float s, c;
  fm_sincos_2pi(uint_to_unit_float(w2), &s, &c);
  *z_cos = r * c;
  *z_sin = r * s;
}

// Gaussian (x + sigma z) or speckle (x + x (sigma z)) noise on one element, clipped.
PR_HD float normal_noise_value(float v, float z, float sigma, bool speckle) {
  const float e = z * sigma;
  return clip01(speckle ? v + v * e : v + e);
}

// Gaussian (speckle = false) or speckle noise on the (up to) four elements i0..i0+3 of one image.
PR_HD void normal_noise_block(const float* x, float* out, int64_t i0, int64_t n, const Philox4& w, float sigma,
                              bool speckle) {
  float z[4];
  box_muller(w.v[0], w.v[1], &z[0], &z[1]);
  box_muller(w.v[2], w.v[3], &z[2], &z[3]);
  for (int k = 0; k < 4; ++k) {
    const int64_t i = i0 + k;
    if (i >= n) break;
    out[i] = normal_noise_value(x[i], z[k], sigma, speckle);
  }
}

// Salt and pepper: u < amount / 2 -> 0, amount / 2 <= u < amount -> 1, else unchanged.
PR_HD void impulse_block(const float* x, float* out, int64_t i0, int64_t n, const Philox4& w, float amount) {
  const float half = amount * 0.5f;
  for (int k = 0; k < 4; ++k) {
    const int64_t i = i0 + k;
    if (i >= n) break;
    const float u = uint_to_unit_float(w.v[k]);
    out[i] = u < amount ? (u < half ? 0.f : 1.f) : clip01(x[i]);
  }
}

// 1 / k rounded to float64 (IEEE division: the same on every back-end).
PR_HD double inv_int(int k) { return 1.0 / static_cast<double>(k); }

// exp(-lam) for lam in [0, 10) from +, -, * only (bit-identical on every back-end): Taylor series of degree 18
// in Horner form at t = lam / 16 (r = 1 - (t r) (1/k)), squared four times.
PR_HD double exp_neg_poly(double lam) {
  const double t = lam * 0.0625;
  double r = 1.0;
  for (int k = 18; k >= 1; --k) r = 1.0 - (t * r) * inv_int(k);
  for (int s = 0; s < 4; ++s) r = r * r;
  return r;
}

// Poisson inversion by sequential search (lam < 10): the smallest k with u <= sum_{j <= k} p_j, p_0 = exp(-lam),
// p_j = p_{j-1} (lam (1/j)), capped at kInversionMaxK.
PR_HD double poisson_inversion(double lam, double u) {
  double p = exp_neg_poly(lam);
  double s = p;
  int k = 0;
  while (u > s && k < kInversionMaxK) {
    ++k;
    p = p * (lam * inv_int(k));
    s = s + p;
  }
  return static_cast<double>(k);
}

// PTRS constants of one lambda (lam >= 10).
struct PtrsConst {
  double b, a, invalpha, vr, loglam;
};

PR_HD PtrsConst ptrs_const(double lam) {
  PtrsConst c;
  const double slam = sqrt(lam);
  c.b = 0.931 + 2.53 * slam;
  c.a = -0.059 + 0.02483 * c.b;
  c.invalpha = 1.1239 + 1.1328 / (c.b - 3.4);
  c.vr = 0.9277 - 3.6224 / (c.b - 2.0);
  c.loglam = fm_log_d(lam);
  return c;
}

// One PTRS attempt with words w: 1 = accept (count in *k), 0 = reject. The acceptance test uses fm_log_d and
// fm_log_factorial (common/fastmath.h), so every back-end takes the same decision:
//   log(V invalpha / (a / us^2 + b)) <= -lam + k log(lam) - log k!.
PR_HD int ptrs_attempt(double lam, const PtrsConst& c, const Philox4& w, double* k) {
  const double u = unit53(w.v[0], w.v[1]) - 0.5;
  const double v = unit53(w.v[2], w.v[3]);
  const double us = 0.5 - fabs(u);
  const double kk = floor((2.0 * c.a / us + c.b) * u + lam + 0.43);
  *k = kk;
  if (us >= 0.07 && v <= c.vr) return 1;
  if (kk < 0.0 || (us < 0.013 && v > us)) return 0;
  const double lhs = fm_log_d(v * c.invalpha / (c.a / (us * us) + c.b));
  const double rhs = (kk * c.loglam - lam) - fm_log_factorial(kk);
  return lhs <= rhs ? 1 : 0;
}

// Poisson(lam) for element `elem` of the stream: inversion (lam < 10) or PTRS (W. Hoermann, "The transformed
// rejection method for generating Poisson random variables", Insurance: Mathematics and Economics 12 (1993)),
// attempts first .. 63 (attempt j on block elem * 64 + j; the CPU loop runs attempt 0 in its lanes).
PR_HD double poisson_draw(double lam, uint64_t seed, uint64_t stream, uint64_t elem, int first = 0) {
  const uint64_t base = elem * static_cast<uint64_t>(kPoissonBlocks);
  if (lam < kPoissonInversionMax) {
    const Philox4 w = philox_block(seed, stream, base);
    return poisson_inversion(lam, unit53(w.v[0], w.v[1]));
  }
  const PtrsConst c = ptrs_const(lam);
  for (int j = first; j < kPoissonBlocks; ++j) {
    double k;
    if (ptrs_attempt(lam, c, philox_block(seed, stream, base + static_cast<uint64_t>(j)), &k)) return k;
  }
  return floor(lam + 0.5);  // 64 rejections in a row: probability < 1e-60
}

PR_HD float shot_value(float x, float photons, uint64_t seed, uint64_t stream, uint64_t elem) {
  const double lam = static_cast<double>(x) * static_cast<double>(photons);
  const double k = poisson_draw(lam, seed, stream, elem);
  return clip01(static_cast<float>(k) / photons);
}

// ---- digital (per pixel over the channels, or per plane) -----------------------------------------------------

// HSV brightness (skimage semantics, closed form): V' = clip(V + delta); RGB scaled by V'/V, black -> (V', V', V').
PR_HD void brightness_rgb(float r, float g, float b, float delta, float o[3]) {
  const float v = fmaxf(r, fmaxf(g, b));
  const float v2 = clip01(v + delta);
  if (v > 0.f) {
    const float ratio = v2 / v;
    o[0] = clip01(r * ratio);
    o[1] = clip01(g * ratio);
    o[2] = clip01(b * ratio);
  } else {
    o[0] = o[1] = o[2] = v2;
  }
}

// HSV saturation (skimage semantics, closed form): S' = clip(S * scale + shift); x' = V - (V - x) S'/S for S > 0,
// grey pixels (S = 0, hue 0) -> (V, V (1 - S'), V (1 - S')).
PR_HD void saturate_rgb(float r, float g, float b, float scale, float shift, float o[3]) {
  const float v = fmaxf(r, fmaxf(g, b));
  const float mn = fminf(r, fminf(g, b));
  const float s = (v - mn) / (v > 0.f ? v : 1.f);
  const float s2 = clip01(s * scale + shift);
  if (s <= 0.f) {
    const float gv = v * (1.f - s2);
    o[0] = clip01(v);
    o[1] = clip01(gv);
    o[2] = clip01(gv);
    return;
  }
  const float k = s2 / s;
  o[0] = clip01(v - (v - r) * k);
  o[1] = clip01(v - (v - g) * k);
  o[2] = clip01(v - (v - b) * k);
}

PR_HD float contrast_value(float x, float mean, float factor) { return clip01((x - mean) * factor + mean); }

// ---- thread bodies of corrupt_cuda.cu (also run on the host by the CpuPath::Device route, digital_cpu.cpp) ----

// Gaussian, speckle, impulse: thread t = (image, Philox block of four elements); nblk = blocks per image.
PR_HD void block_noise_thread(const CorruptParams& p, int64_t nblk, int64_t t) {
  const int64_t n = p.image();
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

// Shot noise: thread t = one element (each element owns its Philox blocks). With tables (tv.cdf != nullptr, i.e.
// photons <= kTableMaxPhotons), 8-bit elements invert their table (poisson_table.h).
PR_HD void shot_thread(const CorruptParams& p, const PoissonTableView& tv, int64_t t) {
  const int64_t n = p.image();
  const float x = p.x[t];
  const uint64_t stream = corrupt_stream(p, t / n);
  const uint64_t elem = static_cast<uint64_t>(t % n);
  const int key = tv.cdf != nullptr ? shot_table_key(x) : -1;
  if (key >= 0) {
    const Philox4 w = philox_block(p.seed, stream, elem * static_cast<uint64_t>(kPoissonBlocks));
    const double k = poisson_table_sample(tv, key, unit53(w.v[0], w.v[1]));
    p.out[t] = clip01(static_cast<float>(k) / p.a);
  } else {
    p.out[t] = shot_value(x, p.a, p.seed, stream, elem);
  }
}

// Brightness and saturate: thread t = one pixel (all channels).
PR_HD void hsv_thread(const CorruptParams& p, int64_t t) {
  const int64_t hw = p.plane();
  if (p.c == 1) {
    p.out[t] = p.kind == Corruption::Brightness ? clip01(p.x[t] + p.a) : clip01(p.x[t]);
    return;
  }
  const int64_t img = t / hw;
  const int64_t k = t % hw;
  const float* x = p.x + img * 3 * hw + k;
  float* out = p.out + img * 3 * hw + k;
  float o[3];
  if (p.kind == Corruption::Brightness) {
    brightness_rgb(x[0], x[hw], x[2 * hw], p.a, o);
  } else {
    saturate_rgb(x[0], x[hw], x[2 * hw], p.a, p.b2, o);
  }
  out[0] = o[0];
  out[hw] = o[1];
  out[2 * hw] = o[2];
}

// Contrast: one CUDA block of kContrastThreads threads per plane. Thread `tid`'s float64 partial sum of the plane
// (elements tid, tid + n_threads, ...); the block adds the partials by a halving tree (contrast_tree_sum), then
// every thread maps its elements with contrast_value.
constexpr int kContrastThreads = 256;

PR_HD double contrast_partial(const float* x, int64_t hw, int64_t tid, int64_t n_threads) {
  double s = 0.0;
  for (int64_t k = tid; k < hw; k += n_threads) s += static_cast<double>(x[k]);
  return s;
}

// The block's tree over the partials (n a power of two), in the kernel's order: partial[i] += partial[i + stride]
// for stride = n / 2, n / 4, ..., 1; the sum is partial[0]. The plane mean, rounded to float32.
PR_HD float contrast_tree_mean(double* partial, int n, int64_t hw) {
  for (int stride = n / 2; stride > 0; stride >>= 1) {
    for (int i = 0; i < stride; ++i) partial[i] += partial[i + stride];
  }
  return static_cast<float>(partial[0] / static_cast<double>(hw));
}

// Entry points. noise_cpu.cpp: gaussian / shot / impulse / speckle; digital_cpu.cpp: brightness / contrast /
// saturate. corrupt_cuda.cu: all seven.
void corrupt_noise_cpu(const CorruptParams& p);
void corrupt_digital_cpu(const CorruptParams& p);
#if PYREPAIR_WITH_CUDA
void corrupt_cuda(const CorruptParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
