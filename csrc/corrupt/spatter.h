// spatter (spec/deeprepair.md §C.2 item 18, CIFAR-10-C / ImageNet-C reference algorithm), batched over float32
// (B, C, H, W) images in [0, 1], C in {1, 3}. Per image, with constants (mean, std, blur sigma g, thr, k, mode):
//   1. L = mean + std * z, z standard normal per pixel (float64, below); L = G_g(L): skimage Gaussian (taps given
//      by the caller, radius int(4 g + 0.5)), rows then columns, edge replicate, acc = acc + w * v from 0;
//      L[L < thr] = 0.
//   mode 0 "water":
//   2. L8 = min(floor(255 L), 255) (uint8; numpy's astype wraps values > 255, we saturate).
//   3. E = cv2.Canny(L8, 50, 150): 3 x 3 Sobel with replicated borders, L1 magnitude, OpenCV's non-maximum
//      suppression (integer tan 22.5 / 67.5 tests, zero magnitude outside the image), hysteresis over
//      8-connected candidates (magnitude > 50) from strong pixels (magnitude > 150).
//   4. D = min(EDT(not E), 20): exact Euclidean distance to the nearest edge pixel (spec §C.3 replacement of
//      cv2's 5 x 5 chamfer), capped at 20 (the cv2.threshold TRUNC step); float32 sqrt of the integer d^2.
//   5. D = uint8(trunc(box3(D))): float32 3 x 3 box, reflect-101, row sums (a + b) + c, then column sums, times
//      float32(1/9).
//   6. D = equalizeHist(D) (OpenCV: lut = rint(cumsum * float32(255 / (N - hist[min]))), constant images kept).
//   7. D = sat_u8(emboss (x) D), emboss = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]] (correlation), reflect-101.
//   8. D = round(box3(D)) as uint8 (cv2.blur keeps uint8: round(sum / 9)), reflect-101.
//   9. m = float32(L8) * D; m = (m / max m) * k in float32 (m = 0 when max m = 0, where the reference divides by
//      zero); out_c = clip(x_c + m * col_c), col = (175, 238, 238) / 255 (C = 1: the skimage rgb2gray of col).
//   mode 1 "mud":
//   2. m = float32(G_k([L > thr])) (taps of sigma k given by the caller); m[m < 0.8] = 0.
//   3. out_c = clip(x_c * (1 - m) + col_c * m), col = (63, 42, 20) / 255 (C = 1: its rgb2gray).
// Randomness: stream ((index_offset + b) * 32 + 18) * 8 + severity (corrupt.h); pixels 2q and 2q + 1 (row-major)
// use Philox block q: u1 = unit53(words 0, 1), u2 = unit53(words 2, 3), r = sqrt(-2 log u1), z = r cos(2 pi u2)
// (pixel 2q) and r sin(2 pi u2) (pixel 2q + 1) (Box-Muller) with the series log / cos / sin below (only +, -, *, /, sqrt and frexp), so the torch reference
// (pyrepair/corrupt/_spatter.py) reproduces every bit. Compiled without FMA contraction (CMakeLists.txt).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/index.h"
#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/corrupt.h"

namespace pyrepair {

constexpr int kSpatterMaxDist = 20;  // cv2.threshold(dist, 20, 20, THRESH_TRUNC)
// scratch bytes per pixel: 2 float64, 5 int32, 2 float32, 4 uint8 planes
constexpr int64_t kSpatterBytesPerPixel = 2 * 8 + 5 * 4 + 2 * 4 + 4;

struct SpatterParams {
  const float* x;         // input (B, C, H, W)
  float* out;             // output, same shape
  int64_t b, c, h, w;     // shape
  const double* taps;     // Gaussian taps of the layer blur (odd count)
  int64_t ntaps;
  const double* mud_taps;  // Gaussian taps of the mud mask blur (mode 1; odd count)
  int64_t nmud;
  float mean, std, thr, intensity;
  int mode;               // 0 water, 1 mud
  uint64_t seed;          // Philox key
  uint64_t index_offset;  // global index of image 0
  int severity;           // RNG key only
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
};

struct SpatterScratch {
  double* f;
  double* t;
  int32_t* mag;
  int32_t* gx;
  int32_t* gy;
  int32_t* stack;
  int32_t* col;
  float* dist;
  float* rows;
  uint8_t* l8;
  uint8_t* emap;
  uint8_t* ua;
  uint8_t* ub;
};

// Carve the scratch of one image (n pixels) out of kSpatterBytesPerPixel * n bytes (8-byte aligned base).
PR_HD SpatterScratch spatter_scratch(unsigned char* base, int64_t n) {
  SpatterScratch s;
  s.f = reinterpret_cast<double*>(base);
  s.t = s.f + n;
  s.mag = reinterpret_cast<int32_t*>(s.t + n);
  s.gx = s.mag + n;
  s.gy = s.gx + n;
  s.stack = s.gy + n;
  s.col = s.stack + n;
  s.dist = reinterpret_cast<float*>(s.col + n);
  s.rows = s.dist + n;
  s.l8 = reinterpret_cast<uint8_t*>(s.rows + n);
  s.emap = s.l8 + n;
  s.ua = s.emap + n;
  s.ub = s.ua + n;
  return s;
}

PR_HD uint64_t spatter_stream(const SpatterParams& p, int64_t image) {
  return corruption_stream(p.index_offset, image, CorruptionId::Spatter, p.severity);
}

// log(u), u > 0: u = m 2^e (frexp), m moved to [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1) / (m + 1),
// odd series to s^13 (|s| <= 0.172: truncation < 1e-12; the noise needs no more), Horner from the highest term.
PR_HD double spatter_log(double u) {
  // frexp for normal positive u (u >= 2^-54 here): m in [1/2, 1), u = m 2^e
  uint64_t bits;
  memcpy(&bits, &u, sizeof bits);
  int e = static_cast<int>((bits >> 52) & 0x7ffu) - 1022;
  bits = (bits & 0x000fffffffffffffull) | (0x3feull << 52);
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m < 0x1.6a09e667f3bcdp-1) {  // sqrt(1/2)
    m = m * 2.0;
    e = e - 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  const double inv[7] = {0x1.0000000000000p+0, 0x1.5555555555555p-2, 0x1.999999999999ap-3, 0x1.2492492492492p-3,
                         0x1.c71c71c71c71cp-4, 0x1.745d1745d1746p-4, 0x1.3b13b13b13b14p-4};  // 1 / (2k + 1)
  double acc = inv[6];
  for (int k = 5; k >= 0; --k) acc = acc * z + inv[k];
  return static_cast<double>(e) * 0x1.62e42fefa39efp-1 + 2.0 * s * acc;  // e ln 2 + log m
}

// cos(2 pi u) and sin(2 pi u), u in (0, 1): a = 2 pi (u - 1/2) in (-pi, pi), cos(2 pi u) = -cos(a),
// sin(2 pi u) = -sin(a); Taylor series to a^20 / a^21 (truncation < 1e-10).
PR_HD void spatter_cossin2pi(double u, double* c_out, double* s_out) {
  const double a = (u - 0.5) * 0x1.921fb54442d18p+2;
  const double y = a * a;
  const double c[11] = {0x1.0000000000000p+0,  -0x1.0000000000000p-1, 0x1.5555555555555p-5, -0x1.6c16c16c16c17p-10,
                        0x1.a01a01a01a01ap-16, -0x1.27e4fb7789f5cp-22, 0x1.1eed8eff8d898p-29, -0x1.93974a8c07c9dp-37,
                        0x1.ae7f3e733b81fp-45, -0x1.6827863b97d97p-53, 0x1.e542ba4020225p-62};  // (-1)^k / (2k)!
  const double sn[11] = {0x1.0000000000000p+0,  -0x1.5555555555555p-3, 0x1.1111111111111p-7, -0x1.a01a01a01a01ap-13,
                         0x1.71de3a556c734p-19, -0x1.ae64567f544e4p-26, 0x1.6124613a86d09p-33, -0x1.ae7f3e733b81fp-41,
                         0x1.952c77030ad4ap-49, -0x1.2f49b46814157p-57, 0x1.71b8ef6dcf572p-66};  // (-1)^k / (2k+1)!
  double ac = c[10], as = sn[10];
  for (int k = 9; k >= 0; --k) {
    ac = ac * y + c[k];
    as = as * y + sn[k];
  }
  *c_out = -ac;
  *s_out = -(a * as);
}

// Standard normals of pixels 2q and 2q + 1 (Box-Muller pair from Philox block q).
PR_HD void spatter_normal_pair(uint64_t seed, uint64_t stream, int64_t q, double* z0, double* z1) {
  const Philox4 r = philox_block(seed, stream, static_cast<uint64_t>(q));
  const double rad = sqrt(-2.0 * spatter_log(unit53(r.v[0], r.v[1])));
  double c, s;
  spatter_cossin2pi(unit53(r.v[2], r.v[3]), &c, &s);
  *z0 = rad * c;
  *z1 = rad * s;
}


PR_HD int64_t spatter_r101(int64_t i, int64_t n) {  // reflect-101 for offsets of at most n - 1
  if (n == 1) return 0;
  if (i < 0) i = -i;
  if (i >= n) i = 2 * n - 2 - i;
  return i;
}

// f <- G(f): rows pass into t, then columns pass back into f (edge replicate). Each output is
// acc = 0; acc = acc + taps[k] * v for k = 0..ntaps-1; the loops run over k outside j so they vectorise, which keeps
// that per-element order.
PR_HD void spatter_gauss(double* f, double* t, int64_t h, int64_t w, const double* taps, int64_t ntaps) {
  const int64_t r = ntaps / 2;
  for (int64_t i = 0; i < h; ++i) {
    double* PR_RESTRICT out = t + i * w;
    for (int64_t j = 0; j < w; ++j) out[j] = 0.0;
    for (int64_t k = 0; k < ntaps; ++k) {
      const double* PR_RESTRICT src = f + clamp_index(i + k - r, h) * w;
      const double wk = taps[k];
      for (int64_t j = 0; j < w; ++j) out[j] = out[j] + wk * src[j];
    }
  }
  const int64_t lo = r < w ? r : w, hi = w - r > lo ? w - r : lo;  // [lo, hi): no clamping needed
  for (int64_t i = 0; i < h; ++i) {
    const double* PR_RESTRICT src = t + i * w;
    double* PR_RESTRICT out = f + i * w;
    for (int64_t j = 0; j < w; ++j) out[j] = 0.0;
    for (int64_t k = 0; k < ntaps; ++k) {
      const double wk = taps[k];
      for (int64_t j = 0; j < lo; ++j) out[j] = out[j] + wk * src[clamp_index(j + k - r, w)];
      const double* PR_RESTRICT s2 = src + (k - r);
      for (int64_t j = lo; j < hi; ++j) out[j] = out[j] + wk * s2[j];
      for (int64_t j = hi; j < w; ++j) out[j] = out[j] + wk * src[clamp_index(j + k - r, w)];
    }
  }
}

// Gradient magnitude at (i, j), 0 outside the image (cv2's zero-padded magnitude rows).
PR_HD int32_t spatter_mag_at(const int32_t* mag, int64_t h, int64_t w, int64_t i, int64_t j) {
  return (i < 0 || i >= h || j < 0 || j >= w) ? 0 : mag[i * w + j];
}

// cv2.Canny(l8, 50, 150) into emap (2 = edge), s.mag / s.gx / s.gy / s.stack as scratch.
PR_HD void spatter_canny(const SpatterScratch& s, int64_t h, int64_t w) {
  const uint8_t* src = s.l8;
  for (int64_t i = 0; i < h; ++i) {
    const int64_t iu = clamp_index(i - 1, h), id = clamp_index(i + 1, h);
    for (int64_t j = 0; j < w; ++j) {
      const int64_t jl = clamp_index(j - 1, w), jr = clamp_index(j + 1, w);
      const int32_t a = src[iu * w + jl], b = src[iu * w + j], c = src[iu * w + jr];
      const int32_t d = src[i * w + jl], e = src[i * w + jr];
      const int32_t f = src[id * w + jl], g = src[id * w + j], q = src[id * w + jr];
      const int32_t dx = (c - a) + 2 * (e - d) + (q - f);
      const int32_t dy = (f - a) + 2 * (g - b) + (q - c);
      s.gx[i * w + j] = dx;
      s.gy[i * w + j] = dy;
      s.mag[i * w + j] = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
    }
  }
  const int32_t tg22 = 13573;  // (int)(tan(22.5 deg) * 2^15 + 0.5)
  int64_t top = 0;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const int64_t k = i * w + j;
      const int32_t m = s.mag[k];
      uint8_t state = 0;
      if (m > 50) {
        const int32_t xs = s.gx[k], ys = s.gy[k];
        const int64_t x = xs < 0 ? -xs : xs;
        const int64_t y = static_cast<int64_t>(ys < 0 ? -ys : ys) << 15;
        const int64_t tg22x = x * tg22;
        bool keep;
        if (y < tg22x) {
          keep = m > spatter_mag_at(s.mag, h, w, i, j - 1) && m >= spatter_mag_at(s.mag, h, w, i, j + 1);
        } else {
          const int64_t tg67x = tg22x + (x << 16);
          if (y > tg67x) {
            keep = m > spatter_mag_at(s.mag, h, w, i - 1, j) && m >= spatter_mag_at(s.mag, h, w, i + 1, j);
          } else {
            const int64_t sg = ((xs ^ ys) < 0) ? -1 : 1;
            keep = m > spatter_mag_at(s.mag, h, w, i - 1, j - sg) && m > spatter_mag_at(s.mag, h, w, i + 1, j + sg);
          }
        }
        if (keep) state = m > 150 ? 2 : 1;
      }
      s.emap[k] = state;
      if (state == 2) s.stack[top++] = static_cast<int32_t>(k);
    }
  }
  while (top > 0) {
    const int64_t k = s.stack[--top];
    const int64_t i = k / w, j = k % w;
    for (int64_t di = -1; di <= 1; ++di) {
      for (int64_t dj = -1; dj <= 1; ++dj) {
        const int64_t ii = i + di, jj = j + dj;
        if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
        const int64_t kk = ii * w + jj;
        if (s.emap[kk] == 1) {
          s.emap[kk] = 2;
          s.stack[top++] = static_cast<int32_t>(kk);
        }
      }
    }
  }
}

PR_HD uint8_t spatter_sat_u8(int64_t v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Water mask m (float32, into s.dist) from the thresholded layer s.f; returns nothing, see the header steps 2-9.
PR_HD void spatter_water_mask(const SpatterScratch& s, int64_t h, int64_t w, float intensity) {
  const int64_t n = h * w;
  for (int64_t k = 0; k < n; ++k) {
    const double v = floor(s.f[k] * 255.0);
    s.l8[k] = static_cast<uint8_t>(v > 255.0 ? 255.0 : v);
  }
  spatter_canny(s, h, w);
  // column distance to the nearest edge within kSpatterMaxDist (kSpatterMaxDist + 1: none)
  const int64_t cap = kSpatterMaxDist;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      int32_t d = static_cast<int32_t>(cap + 1);
      for (int64_t k = 0; k <= cap; ++k) {
        if ((i - k >= 0 && s.emap[(i - k) * w + j] == 2) || (i + k < h && s.emap[(i + k) * w + j] == 2)) {
          d = static_cast<int32_t>(k);
          break;
        }
      }
      s.col[i * w + j] = d;
    }
  }
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      int64_t best = cap * cap;
      for (int64_t a = 0; a <= cap && a * a < best; ++a) {  // |dk| = a; farther columns cannot improve best
        for (int64_t sgn = -1; sgn <= 1; sgn += 2) {
          const int64_t jj = j + sgn * a;
          if (jj < 0 || jj >= w || (a == 0 && sgn > 0)) continue;
          const int64_t g = s.col[i * w + jj];
          if (g > cap) continue;
          const int64_t d2 = g * g + a * a;
          if (d2 < best) best = d2;
        }
      }
      const float d = static_cast<float>(sqrt(static_cast<double>(best)));
      s.dist[i * w + j] = d < 20.0f ? d : 20.0f;
    }
  }
  // float32 3 x 3 box (reflect-101), trunc to uint8
  const float ninth = static_cast<float>(1.0 / 9.0);
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const float* r = s.dist + i * w;
      s.rows[i * w + j] = (r[spatter_r101(j - 1, w)] + r[j]) + r[spatter_r101(j + 1, w)];
    }
  }
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const float v = ((s.rows[spatter_r101(i - 1, h) * w + j] + s.rows[i * w + j]) +
                       s.rows[spatter_r101(i + 1, h) * w + j]) * ninth;
      s.ua[i * w + j] = static_cast<uint8_t>(v);
    }
  }
  // equalizeHist (into ub)
  int64_t hist[256];
  for (int v = 0; v < 256; ++v) hist[v] = 0;
  for (int64_t k = 0; k < n; ++k) hist[s.ua[k]] += 1;
  int imin = 0;
  while (hist[imin] == 0) ++imin;
  if (hist[imin] == n) {
    for (int64_t k = 0; k < n; ++k) s.ub[k] = s.ua[k];
  } else {
    const float scale = 255.0f / static_cast<float>(n - hist[imin]);
    uint8_t lut[256];
    for (int v = 0; v < 256; ++v) lut[v] = 0;
    int64_t sum = 0;
    for (int v = imin + 1; v < 256; ++v) {
      sum += hist[v];
      const float r = rintf(static_cast<float>(sum) * scale);
      lut[v] = static_cast<uint8_t>(r > 255.0f ? 255.0f : r);
    }
    for (int64_t k = 0; k < n; ++k) s.ub[k] = lut[s.ua[k]];
  }
  // emboss (correlation, reflect-101) into ua
  const int32_t ker[3][3] = {{-2, -1, 0}, {-1, 1, 1}, {0, 1, 2}};
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      int64_t acc = 0;
      for (int64_t a = 0; a < 3; ++a) {
        const int64_t ii = spatter_r101(i + a - 1, h);
        for (int64_t b = 0; b < 3; ++b) acc += ker[a][b] * s.ub[ii * w + spatter_r101(j + b - 1, w)];
      }
      s.ua[i * w + j] = spatter_sat_u8(acc);
    }
  }
  // uint8 3 x 3 box, rounded; m = L8 * D
  float mx = 0.0f;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      int64_t acc = 0;
      for (int64_t a = -1; a <= 1; ++a) {
        const int64_t ii = spatter_r101(i + a, h);
        for (int64_t b = -1; b <= 1; ++b) acc += s.ua[ii * w + spatter_r101(j + b, w)];
      }
      const float dv = static_cast<float>((2 * acc + 9) / 18);
      const float m = static_cast<float>(s.l8[i * w + j]) * dv;
      s.dist[i * w + j] = m;
      if (m > mx) mx = m;
    }
  }
  for (int64_t k = 0; k < n; ++k) s.dist[k] = mx > 0.0f ? (s.dist[k] / mx) * intensity : 0.0f;
}

// Mud mask (float32, into s.dist) from the thresholded layer s.f.
PR_HD void spatter_mud_mask(const SpatterScratch& s, int64_t h, int64_t w, double thr, const double* taps,
                            int64_t ntaps) {
  const int64_t n = h * w;
  for (int64_t k = 0; k < n; ++k) s.f[k] = s.f[k] > thr ? 1.0 : 0.0;
  spatter_gauss(s.f, s.t, h, w, taps, ntaps);
  for (int64_t k = 0; k < n; ++k) {
    const float m = static_cast<float>(s.f[k]);
    s.dist[k] = m < 0.8f ? 0.0f : m;
  }
}

// The colour of channel ch (C = 3) or its skimage rgb2gray (C = 1), float32.
PR_HD float spatter_colour(int mode, int64_t channels, int64_t ch) {
  if (mode == 0) {
    if (channels == 1) return static_cast<float>((0.2125 * 175.0 + 0.7154 * 238.0 + 0.0721 * 238.0) / 255.0);
    return static_cast<float>((ch == 0 ? 175.0 : 238.0) / 255.0);
  }
  if (channels == 1) return static_cast<float>((0.2125 * 63.0 + 0.7154 * 42.0 + 0.0721 * 20.0) / 255.0);
  return static_cast<float>((ch == 0 ? 63.0 : (ch == 1 ? 42.0 : 20.0)) / 255.0);
}

PR_HD float spatter_clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// The whole corruption of image `img` with scratch s.
PR_HD void spatter_image(const SpatterParams& p, int64_t img, const SpatterScratch& s) {
  const int64_t h = p.h, w = p.w, n = h * w;
  const uint64_t stream = spatter_stream(p, img);
  const double mean = static_cast<double>(p.mean), sd = static_cast<double>(p.std);
  const double thr = static_cast<double>(p.thr);
  for (int64_t k = 0; k < n; k += 2) {
    double z0, z1;
    spatter_normal_pair(p.seed, stream, k / 2, &z0, &z1);
    s.f[k] = mean + sd * z0;
    if (k + 1 < n) s.f[k + 1] = mean + sd * z1;
  }
  spatter_gauss(s.f, s.t, h, w, p.taps, p.ntaps);
  for (int64_t k = 0; k < n; ++k) {
    if (s.f[k] < thr) s.f[k] = 0.0;
  }
  if (p.mode == 0) {
    spatter_water_mask(s, h, w, p.intensity);
  } else {
    spatter_mud_mask(s, h, w, thr, p.mud_taps, p.nmud);
  }
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const float col = spatter_colour(p.mode, p.c, ch);
    const float* x = p.x + (img * p.c + ch) * n;
    float* out = p.out + (img * p.c + ch) * n;
    if (p.mode == 0) {
      for (int64_t k = 0; k < n; ++k) out[k] = spatter_clip01(x[k] + s.dist[k] * col);
    } else {
      for (int64_t k = 0; k < n; ++k) {
        const float m = s.dist[k];
        out[k] = spatter_clip01(x[k] * (1.0f - m) + col * m);
      }
    }
  }
}

void spatter_cpu(const SpatterParams& p);
void spatter_cuda(const SpatterParams& p, uintptr_t stream, int device);

}  // namespace pyrepair
