// elastic_transform (spec/deeprepair.md §C.2 item 13, CIFAR-10-C / ImageNet-C reference algorithm), batched over
// float32 (B, C, H, W) images in [0, 1], C in {1, 3}; per image, with constants (alpha, sigma, A):
//   1. random affine: q = (H // 2, W // 2), s = min(H, W) // 3, P1 = {q + s, (q0 + s, q1 - s), q - s} as cv2 (x, y)
//      points (taken literally, as the reference does), P2 = P1 + U(-A, A); M solves P1 -> P2; warped(p) =
//      src(M^-1 p), bilinear, reflect-101 borders (cv2 warpAffine semantics in float64; cv2's 1/32 fixed-point
//      interpolation grid is not reproduced; a degenerate affine, e.g. min(H, W) < 3, is skipped);
//   2. dx, dy = alpha * G_sigma(U(-1, 1)^(H x W)): scipy Gaussian (radius int(3 sigma + 0.5), axis 0 then axis 1,
//      mode reflect = half-sample symmetric; sigma < 1e-15 is the identity);
//   3. out(y, x) = warped sampled at (y + dy, x + dx), bilinear, half-sample symmetric borders; clipped.
// Randomness: stream of corrupt.h with corruption id 13; affine uniform k (k = 0..5, numpy (3, 2) row-major order)
// from block k / 2, words (0, 1) for even k and (2, 3) for odd; dx cell i from block 2^32 + i and dy cell i from
// block 2^33 + i, words (0, 1); all uniforms are unit53 float64 values (corrupt.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/corrupt.h"

namespace pyrepair {

constexpr uint64_t kElasticDxBlock = 1ull << 32;
constexpr uint64_t kElasticDyBlock = 1ull << 33;

struct ElasticParams {
  const float* x;         // input (B, C, H, W)
  float* out;             // output, same shape
  int64_t b, c, h, w;     // shape
  float alpha;            // displacement scale
  float sigma;            // Gaussian sigma of the displacement fields
  float affine;           // A: half-width of the affine point jitter
  uint64_t seed;          // Philox key
  uint64_t index_offset;  // global index of image 0
  int severity;           // RNG key only
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
};

PR_HD uint64_t elastic_stream(const ElasticParams& p, int64_t image) {
  return corruption_stream(p.index_offset, image, CorruptionId::ElasticTransform, p.severity);
}

// Half-sample symmetric fold (scipy 'reflect'): ... b a | a b ... ; period 2n.
PR_HD int64_t fold_reflect(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  int64_t r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - 1 - r;
}

// Whole-sample symmetric fold (cv2 BORDER_REFLECT_101): ... c b | a b c ... ; period 2n - 2 (n = 1: always 0).
PR_HD int64_t fold_reflect101(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * n - 2;
  int64_t r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

// The inverse affine map (dst -> src) of image `image`: src = (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]).
PR_HD void elastic_inverse_affine(const ElasticParams& p, uint64_t stream, double m[6]) {
  const double q0 = static_cast<double>(p.h / 2), q1 = static_cast<double>(p.w / 2);
  const double s = static_cast<double>((p.h < p.w ? p.h : p.w) / 3);
  const double src[3][2] = {{q0 + s, q1 + s}, {q0 + s, q1 - s}, {q0 - s, q1 - s}};
  double dst[3][2];
  const double a = static_cast<double>(p.affine);
  for (int k = 0; k < 6; ++k) {
    const Philox4 r = philox_block(p.seed, stream, static_cast<uint64_t>(k / 2));
    const double u = (k % 2 == 0) ? unit53(r.v[0], r.v[1]) : unit53(r.v[2], r.v[3]);
    const double lo = -a;
    dst[k / 2][k % 2] = src[k / 2][k % 2] + (lo + (a - lo) * u);
  }
  // forward M (P1 -> P2) by Cramer's rule on [[x, y, 1]] rows
  const double x1 = src[0][0], y1 = src[0][1], x2 = src[1][0], y2 = src[1][1], x3 = src[2][0], y3 = src[2][1];
  const double det = x1 * (y2 - y3) - y1 * (x2 - x3) + (x2 * y3 - x3 * y2);
  const double ident[6] = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0};
  if (det == 0.0) {  // min(H, W) < 3: the three points coincide; no affine (documented)
    for (int k = 0; k < 6; ++k) m[k] = ident[k];
    return;
  }
  double f[6];
  for (int r = 0; r < 2; ++r) {
    const double u1 = dst[0][r], u2 = dst[1][r], u3 = dst[2][r];
    f[3 * r + 0] = (u1 * (y2 - y3) - y1 * (u2 - u3) + (u2 * y3 - u3 * y2)) / det;
    f[3 * r + 1] = (x1 * (u2 - u3) - u1 * (x2 - x3) + (x2 * u3 - x3 * u2)) / det;
    f[3 * r + 2] = (x1 * (y2 * u3 - y3 * u2) - y1 * (x2 * u3 - x3 * u2) + u1 * (x2 * y3 - x3 * y2)) / det;
  }
  // invert [[f0 f1 f2], [f3 f4 f5]]
  const double d = f[0] * f[4] - f[1] * f[3];
  if (d == 0.0) {
    for (int k = 0; k < 6; ++k) m[k] = ident[k];
    return;
  }
  const double i00 = f[4] / d, i01 = -f[1] / d, i10 = -f[3] / d, i11 = f[0] / d;
  m[0] = i00;
  m[1] = i01;
  m[2] = -(i00 * f[2] + i01 * f[5]);
  m[3] = i10;
  m[4] = i11;
  m[5] = -(i10 * f[2] + i11 * f[5]);
}

// Warped image value at integer pixel (i, j) of one plane: bilinear src sample with reflect-101 borders.
PR_HD double elastic_warped(const float* plane, int64_t h, int64_t w, const double m[6], int64_t i, int64_t j) {
  const double xd = static_cast<double>(j), yd = static_cast<double>(i);
  const double sx = m[0] * xd + m[1] * yd + m[2];
  const double sy = m[3] * xd + m[4] * yd + m[5];
  const double fx = floor(sx), fy = floor(sy);
  const double tx = sx - fx, ty = sy - fy;
  const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
  const int64_t xa = fold_reflect101(x0, w), xb = fold_reflect101(x0 + 1, w);
  const int64_t ya = fold_reflect101(y0, h), yb = fold_reflect101(y0 + 1, h);
  const double top = (1.0 - tx) * static_cast<double>(plane[ya * w + xa]) +
                     tx * static_cast<double>(plane[ya * w + xb]);
  const double bot = (1.0 - tx) * static_cast<double>(plane[yb * w + xa]) +
                     tx * static_cast<double>(plane[yb * w + xb]);
  return (1.0 - ty) * top + ty * bot;
}

// Output value at (i, j) of one plane, given its displacement (dy, dx): bilinear over the warped image with
// half-sample symmetric borders.
PR_HD float elastic_value(const float* plane, int64_t h, int64_t w, const double m[6], int64_t i, int64_t j,
                          double dy, double dx) {
  const double yy = static_cast<double>(i) + dy, xx = static_cast<double>(j) + dx;
  const double fy = floor(yy), fx = floor(xx);
  const double ty = yy - fy, tx = xx - fx;
  const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
  const int64_t ya = fold_reflect(y0, h), yb = fold_reflect(y0 + 1, h);
  const int64_t xa = fold_reflect(x0, w), xb = fold_reflect(x0 + 1, w);
  const double top =
      (1.0 - tx) * elastic_warped(plane, h, w, m, ya, xa) + tx * elastic_warped(plane, h, w, m, ya, xb);
  const double bot =
      (1.0 - tx) * elastic_warped(plane, h, w, m, yb, xa) + tx * elastic_warped(plane, h, w, m, yb, xb);
  return clip01(static_cast<float>((1.0 - ty) * top + ty * bot));
}

// Gaussian radius and weight k (k = -radius..radius; unnormalised) of scipy's gaussian_filter (truncate 3).
PR_HD int64_t elastic_radius(float sigma) {
  const double s = static_cast<double>(sigma);
  return s < 1e-15 ? 0 : static_cast<int64_t>(3.0 * s + 0.5);
}

PR_HD double elastic_noise(uint64_t seed, uint64_t stream, uint64_t base, int64_t cell) {
  const Philox4 r = philox_block(seed, stream, base + static_cast<uint64_t>(cell));
  return -1.0 + 2.0 * unit53(r.v[0], r.v[1]);
}

// ---- host helper and thread bodies of elastic_cuda.cu (also run by the CpuPath::Device route of elastic_cpu.cpp) --

// Normalised Gaussian weights, k = -radius..radius (scipy _gaussian_kernel1d), on the host (std::exp): the CUDA
// launch copies them to the device, so every back-end uses the same doubles.
inline std::vector<double> elastic_gauss_weights(float sigma, int64_t radius) {
  std::vector<double> wts(static_cast<size_t>(2 * radius + 1), 1.0);
  if (radius == 0) return wts;
  const double s2 = static_cast<double>(sigma) * static_cast<double>(sigma);
  double sum = 0.0;
  for (int64_t k = -radius; k <= radius; ++k) {
    const double kd = static_cast<double>(k);
    wts[static_cast<size_t>(k + radius)] = std::exp(-0.5 / s2 * (kd * kd));
    sum += wts[static_cast<size_t>(k + radius)];
  }
  for (double& v : wts) v = v / sum;
  return wts;
}

// Rows pass: thread t = element k of field f (0 = dx, 1 = dy) of image img, t = (img * 2 + f) * H W + k: the
// noise, smoothed along axis 0, into tmp[t].
PR_HD void elastic_rows_thread(const ElasticParams& p, const double* wts, int64_t radius, double* tmp, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t img = t / (2 * hw);
  const int64_t f = (t / hw) % 2;
  const int64_t k = t % hw;
  const int64_t i = k / p.w, j = k % p.w;
  const uint64_t stream = elastic_stream(p, img);
  const uint64_t base = f == 0 ? kElasticDxBlock : kElasticDyBlock;
  double acc = 0.0;
  for (int64_t d = -radius; d <= radius; ++d) {
    acc += wts[d + radius] * elastic_noise(p.seed, stream, base, fold_reflect(i + d, p.h) * p.w + j);
  }
  tmp[t] = acc;
}

// Columns pass (same t): axis 1 of tmp, times alpha, into field[t].
PR_HD void elastic_cols_thread(const ElasticParams& p, const double* wts, int64_t radius, const double* tmp,
                               double* field, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t k = t % hw;
  const int64_t row = (t - k) + (k / p.w) * p.w;
  const int64_t j = k % p.w;
  double acc = 0.0;
  for (int64_t d = -radius; d <= radius; ++d) acc += wts[d + radius] * tmp[row + fold_reflect(j + d, p.w)];
  field[t] = static_cast<double>(p.alpha) * acc;
}

// Sample: thread t = one output element.
PR_HD void elastic_sample_thread(const ElasticParams& p, const double* field, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t pl = t / hw;
  const int64_t img = pl / p.c;
  const int64_t k = t % hw;
  double m[6];
  elastic_inverse_affine(p, elastic_stream(p, img), m);
  const double* dx = field + img * 2 * hw;
  const double* dy = dx + hw;
  p.out[t] = elastic_value(p.x + pl * hw, p.h, p.w, m, k / p.w, k % p.w, dy[k], dx[k]);
}

void elastic_cpu(const ElasticParams& p);
#if PYREPAIR_WITH_CUDA
void elastic_cuda(const ElasticParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
