// Kernel family `corrupt`: jpeg_compression (spec/deeprepair.md §C.2 item 15, §C.3 "pure-tensor JPEG round trip"),
// our own batched baseline-JPEG encode + decode of float32 (B, C, H, W) images in [0, 1], C in {1, 3}, any H, W >= 1.
//
// It emulates the published code's PIL path, image * 255 -> uint8 -> Image.save(JPEG, quality) -> reload -> / 255,
// with Pillow's defaults (libjpeg-turbo: 4:2:0 chroma subsampling, IJG tables, no smoothing, ISLOW DCT, fancy
// up-sampling). Every step is libjpeg's integer arithmetic except the DCT, which is the exact orthonormal float64
// transform (libjpeg's ISLOW is a 13-bit fixed-point approximation of it):
//   1. samples  v = floor(x * 255 + 0.5)                                     (x is exactly k / 255 for uint8 input)
//   2. colour   libjpeg rgb_ycc_convert (jccolor.c, 16-bit fixed point):
//               Y  = (19595 R + 38470 G + 7471 B + 32768) >> 16
//               Cb = (-11059 R - 21709 G + 32768 B + (128 << 16) + 32767) >> 16       (so Cb, Cr <= 255)
//               Cr = (32768 R - 27439 G - 5329 B + (128 << 16) + 32767) >> 16
//               grey images (C = 1) are a one-component JPEG of the samples themselves (Pillow mode "L").
//   3. chroma   h2v2_downsample (jcsample.c): (a + b + c + d + bias) >> 2, bias 1, 2, 1, 2, ... along a row; the
//               image is padded by edge replication to an even height and horizontally to 16 * ceil(W / 16), and
//               down-sampled rows beyond ceil(H / 2) repeat the last one (jcprepct.c expand_bottom_edge).
//   4. blocks   each plane padded to whole 8 x 8 blocks by edge replication; level shift -128; orthonormal 8 x 8
//               DCT-II  C = D S D^T  (D[k][n] = c_k cos((2n + 1) k pi / 16), c_0 = sqrt(1/8), c_k = 1/2), as two
//               passes of 8-term sums in a fixed order (jpeg_fdct / jpeg_idct below).
//   5. quantise q = round-half-away(C / Q) (jcdctmgr.c), Q the IJG table scaled by quality (jpeg_quant_tables).
//   6. decode   S = D^T (q Q) D, sample = clamp(floor(S + 128 + 0.5), 0, 255) (jidctint.c: rounded, range-limited).
//   7. chroma   h2v2_fancy_upsample (jdsample.c): triangle filter on the ceil(H/2) x ceil(W/2) chroma plane with
//               edge replication, colsum = 3 nearer + farther row, out = (3 colsum + colsum' + 8 or 7) >> 4.
//   8. colour   libjpeg ycc_rgb_convert (jdcolor.c): R = Y + ((91881 cr + 32768) >> 16), B = Y + ((116130 cb +
//               32768) >> 16), G = Y + ((-22554 cb + 32768 - 46802 cr) >> 16) with cb, cr = Cb - 128, Cr - 128,
//               clamped to 0..255; output float(v) / 255.f.
// So the only difference from Pillow is the DCT arithmetic (exact vs ISLOW), which moves a coefficient only where
// C / Q lies within ~1e-3 of a rounding boundary.
//
// Float discipline: compiled without FMA contraction (-ffp-contract=off / --fmad=false, CMakeLists.txt); everything
// but the DCT is exact integer arithmetic; the DCT sums run in the order of pyrepair/corrupt/_jpeg.py (the torch
// oracle), so CPU, CUDA and the reference agree bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

struct JpegParams {
  const float* x;      // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;          // output, same shape; may not alias x
  int64_t b;           // batch size
  int64_t c;           // channels (1 or 3)
  int64_t h;           // height (>= 1)
  int64_t w;           // width (>= 1)
  int quality;         // 1..100
  int32_t qluma[64];   // quantisation tables in natural (row-major) order (jpeg_quant_tables)
  int32_t qchroma[64];
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
  // chroma plane (after 4:2:0 down-sampling): valid size and block-padded size
  PR_HD int64_t ch() const { return (h + 1) / 2; }
  PR_HD int64_t cw() const { return (w + 1) / 2; }
  PR_HD int64_t luma_blocks_y() const { return (h + 7) / 8; }
  PR_HD int64_t luma_blocks_x() const { return (w + 7) / 8; }
  PR_HD int64_t chroma_blocks_y() const { return (ch() + 7) / 8; }
  PR_HD int64_t chroma_blocks_x() const { return (cw() + 7) / 8; }
  // 8 x 8 blocks of one image: luma, then Cb, then Cr (colour images only)
  PR_HD int64_t blocks() const {
    const int64_t luma = luma_blocks_y() * luma_blocks_x();
    return c == 3 ? luma + 2 * chroma_blocks_y() * chroma_blocks_x() : luma;
  }
};

// IJG base tables (libjpeg jcparam.c, ITU-T T.81 Annex K), natural order.
constexpr int32_t kJpegLumaBase[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,  14, 13, 16, 24, 40,  57,
    69, 56, 14, 17, 22,  29,  51,  87,  80, 62, 18, 22, 37,  56,  68,  109, 103, 77, 24, 35, 55,  64,
    81, 104, 113, 92, 49, 64, 78,  87,  103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
constexpr int32_t kJpegChromaBase[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

// jpeg_set_quality(cinfo, quality, force_baseline = TRUE): scale = 5000 / q (q < 50) or 200 - 2 q, then
// clamp((base * scale + 50) / 100, 1, 255) (integer division).
inline void jpeg_quant_tables(int quality, int32_t* luma, int32_t* chroma) {
  const int32_t scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  for (int i = 0; i < 64; ++i) {
    int32_t a = (kJpegLumaBase[i] * scale + 50) / 100;
    int32_t b = (kJpegChromaBase[i] * scale + 50) / 100;
    luma[i] = a < 1 ? 1 : (a > 255 ? 255 : a);
    chroma[i] = b < 1 ? 1 : (b > 255 ? 255 : b);
  }
}

// floor(v / 2^16) for any sign (libjpeg's RIGHT_SHIFT on a two's complement machine).
PR_HD int32_t jpeg_shift16(int32_t v) { return v >= 0 ? (v >> 16) : -((-v + 65535) >> 16); }

PR_HD int32_t jpeg_clamp255(int32_t v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

// Step 1: the uint8 level of a value in [0, 1].
PR_HD int32_t jpeg_level(float x) {
  const double v = static_cast<double>(x) * 255.0 + 0.5;
  const double f = v < 0.0 ? 0.0 : (v > 255.0 ? 255.0 : v);
  return static_cast<int32_t>(f);  // truncation == floor for f >= 0
}

// Step 2 (jccolor.c rgb_ycc_convert).
PR_HD void jpeg_rgb_to_ycc(int32_t r, int32_t g, int32_t b, uint8_t& y, uint8_t& cb, uint8_t& cr) {
  y = static_cast<uint8_t>((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
  cb = static_cast<uint8_t>((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16);
  cr = static_cast<uint8_t>((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16);
}

// Step 8 (jdcolor.c ycc_rgb_convert).
PR_HD void jpeg_ycc_to_rgb(int32_t y, int32_t cb, int32_t cr, int32_t& r, int32_t& g, int32_t& b) {
  const int32_t xb = cb - 128, xr = cr - 128;
  r = jpeg_clamp255(y + jpeg_shift16(91881 * xr + 32768));
  g = jpeg_clamp255(y + jpeg_shift16((-22554 * xb + 32768) + (-46802 * xr)));
  b = jpeg_clamp255(y + jpeg_shift16(116130 * xb + 32768));
}

// D[k][n] of the orthonormal 8-point DCT-II, built from cos(j pi / 16), j = 0..7 (exact symmetries; the literals are
// those of pyrepair/corrupt/_jpeg.py, _COS).
PR_HD double jpeg_dct_coef(int k, int n) {
  const double cosv[8] = {0x1.0000000000000p+0,  0x1.f6297cff75cb0p-1, 0x1.d906bcf328d46p-1,
                          0x1.a9b66290ea1a3p-1,  0x1.6a09e667f3bcdp-1, 0x1.1c73b39ae68c9p-1,
                          0x1.87de2a6aea964p-2,  0x1.8f8b83c69a60dp-3};
  if (k == 0) return 0x1.6a09e667f3bcdp-2;  // sqrt(1/8)
  int a = ((2 * n + 1) * k) % 32;
  if (a > 16) a = 32 - a;
  double s = 0.5;
  if (a > 8) {
    s = -0.5;
    a = 16 - a;
  }
  return a == 8 ? 0.0 : s * cosv[a];
}

// d[0..63] = D (row-major), d[64..127] = D transposed.
PR_HD void jpeg_dct_matrix(double* d) {
  for (int k = 0; k < 8; ++k) {
    for (int n = 0; n < 8; ++n) {
      d[k * 8 + n] = jpeg_dct_coef(k, n);
      d[64 + n * 8 + k] = jpeg_dct_coef(k, n);
    }
  }
}

// Steps 4-6 on one block: s[64] holds the samples (0..255, row-major); on return it holds the decoded samples.
// d: jpeg_dct_matrix (128 values); q: the quantisation table.
// The 1-D passes use the exact symmetry D[k][7 - n] = (-1)^k D[k][n] (even/odd split, 4-term sums of products,
// each sum left to right starting with its first product), in the order of pyrepair/corrupt/_jpeg.py:
//   forward columns  T[k][n] = sum_{m<4} D[k][m] * (s'[m][n] +- s'[7-m][n])          (+ for even k; s' = s - 128)
//   forward rows     C[k][l] = sum_{n<4} D[l][n] * (T[k][n] +- T[k][7-n])            (+ for even l)
//   quantise         F = round-half-away(C / Q) * Q
//   inverse columns  E[m][l] = sum_{k even} D[k][m] F[k][l], O = same over odd k;  U[m] = E + O, U[7-m] = E - O
//   inverse rows     E'[m][n] = sum_{l even} U[m][l] D[l][n], O' over odd l;  S[m][n] = E' + O', S[m][7-n] = E' - O'
// The inverse skips rows k of F, and columns l of U, that are all zero: adding an exact zero leaves a sum's value
// unchanged (at most the sign of a zero, which the final + 128 removes), so this is value-identical to the
// reference's full sums. The CPU kernel runs the same sums on 4 blocks at once (jpeg_block_lanes in jpeg_cpu.cpp,
// one SIMD lane per block, quantisation rounding as fabs / copysign, value-identical); CUDA runs jpeg_block.
PR_HD void jpeg_block(double* s, const double* d, const int32_t* q) {
  double t[64], f[64], ev[32], od[32];
  for (int m = 0; m < 4; ++m) {
    for (int n = 0; n < 8; ++n) {
      const double a = s[m * 8 + n] - 128.0, b = s[(7 - m) * 8 + n] - 128.0;
      ev[m * 8 + n] = a + b;
      od[m * 8 + n] = a - b;
    }
  }
  for (int k = 0; k < 8; ++k) {
    const double* src = (k & 1) ? od : ev;
    for (int n = 0; n < 8; ++n) t[k * 8 + n] = d[k * 8 + 0] * src[n];
    for (int m = 1; m < 4; ++m) {
      const double dk = d[k * 8 + m];
      for (int n = 0; n < 8; ++n) t[k * 8 + n] = t[k * 8 + n] + dk * src[m * 8 + n];
    }
  }
  bool row_nz[8];
  bool col_nz[8] = {false, false, false, false, false, false, false, false};
  for (int k = 0; k < 8; ++k) {
    double et[4], ot[4];
    for (int n = 0; n < 4; ++n) {
      et[n] = t[k * 8 + n] + t[k * 8 + 7 - n];
      ot[n] = t[k * 8 + n] - t[k * 8 + 7 - n];
    }
    bool nz = false;
    for (int l = 0; l < 8; ++l) {
      const double* src = (l & 1) ? ot : et;
      double c = d[l * 8 + 0] * src[0];
      for (int n = 1; n < 4; ++n) c = c + d[l * 8 + n] * src[n];
      const double qv = static_cast<double>(q[k * 8 + l]);
      const double r = c / qv;
      const double a = floor((r < 0.0 ? -r : r) + 0.5);
      const double v = (r < 0.0 ? -a : a) * qv;
      f[k * 8 + l] = v;
      if (v != 0.0) {
        nz = true;
        col_nz[l] = true;
      }
    }
    row_nz[k] = nz;
  }
  for (int i = 0; i < 32; ++i) {
    ev[i] = 0.0;
    od[i] = 0.0;
  }
  for (int k = 0; k < 8; ++k) {
    if (!row_nz[k]) continue;
    double* dst = (k & 1) ? od : ev;
    for (int m = 0; m < 4; ++m) {
      const double dk = d[k * 8 + m];
      for (int l = 0; l < 8; ++l) dst[m * 8 + l] = dst[m * 8 + l] + dk * f[k * 8 + l];
    }
  }
  for (int m = 0; m < 4; ++m) {  // U, stored in t
    for (int l = 0; l < 8; ++l) {
      t[m * 8 + l] = ev[m * 8 + l] + od[m * 8 + l];
      t[(7 - m) * 8 + l] = ev[m * 8 + l] - od[m * 8 + l];
    }
  }
  for (int m = 0; m < 8; ++m) {
    double e2[4] = {0.0, 0.0, 0.0, 0.0};
    double o2[4] = {0.0, 0.0, 0.0, 0.0};
    for (int l = 0; l < 8; ++l) {
      if (!col_nz[l]) continue;
      const double u = t[m * 8 + l];
      double* dst = (l & 1) ? o2 : e2;
      for (int n = 0; n < 4; ++n) dst[n] = dst[n] + u * d[l * 8 + n];
    }
    for (int n = 0; n < 4; ++n) {
      const double lo = floor(((e2[n] + o2[n]) + 128.0) + 0.5);
      const double hi = floor(((e2[n] - o2[n]) + 128.0) + 0.5);
      s[m * 8 + n] = lo < 0.0 ? 0.0 : (lo > 255.0 ? 255.0 : lo);
      s[m * 8 + 7 - n] = hi < 0.0 ? 0.0 : (hi > 255.0 ? 255.0 : hi);
    }
  }
}

PR_HD int64_t jpeg_min(int64_t a, int64_t b) { return a < b ? a : b; }

// Gather block (by, bx) of a full-resolution plane (h x w, uint8) with edge replication.
PR_HD void jpeg_gather_full(const uint8_t* plane, int64_t h, int64_t w, int64_t by, int64_t bx, double* s) {
  for (int m = 0; m < 8; ++m) {
    const int64_t r = jpeg_min(by * 8 + m, h - 1);
    for (int n = 0; n < 8; ++n) s[m * 8 + n] = static_cast<double>(plane[r * w + jpeg_min(bx * 8 + n, w - 1)]);
  }
}

// Gather block (by, bx) of the 4:2:0 down-sampled version of a full-resolution chroma plane (step 3).
PR_HD void jpeg_gather_down(const uint8_t* plane, int64_t h, int64_t w, int64_t by, int64_t bx, double* s) {
  const int64_t ch = (h + 1) / 2;
  for (int m = 0; m < 8; ++m) {
    const int64_t i = jpeg_min(by * 8 + m, ch - 1);
    const uint8_t* r0 = plane + jpeg_min(2 * i, h - 1) * w;
    const uint8_t* r1 = plane + jpeg_min(2 * i + 1, h - 1) * w;
    for (int n = 0; n < 8; ++n) {
      const int64_t j = bx * 8 + n;
      const int64_t c0 = jpeg_min(2 * j, w - 1), c1 = jpeg_min(2 * j + 1, w - 1);
      const int32_t sum = static_cast<int32_t>(r0[c0]) + r0[c1] + r1[c0] + r1[c1] + 1 + static_cast<int32_t>(j & 1);
      s[m * 8 + n] = static_cast<double>(sum >> 2);
    }
  }
}

// Store the decoded block (by, bx) into a plane of valid size h x w (samples beyond it are dropped).
PR_HD void jpeg_store(const double* s, uint8_t* plane, int64_t h, int64_t w, int64_t by, int64_t bx) {
  for (int m = 0; m < 8; ++m) {
    const int64_t r = by * 8 + m;
    if (r >= h) break;
    for (int n = 0; n < 8; ++n) {
      const int64_t col = bx * 8 + n;
      if (col >= w) break;
      plane[r * w + col] = static_cast<uint8_t>(s[m * 8 + n]);
    }
  }
}

// Step 7 at full-resolution pixel (y, q) of a decoded chroma plane of size ch x cw.
PR_HD int32_t jpeg_fancy_up(const uint8_t* c, int64_t ch, int64_t cw, int64_t y, int64_t q) {
  const int64_t i = y / 2;
  int64_t i2 = (y & 1) ? i + 1 : i - 1;
  i2 = i2 < 0 ? 0 : (i2 > ch - 1 ? ch - 1 : i2);
  const int64_t j = q / 2;
  int64_t j2 = (q & 1) ? j + 1 : j - 1;
  j2 = j2 < 0 ? 0 : (j2 > cw - 1 ? cw - 1 : j2);
  const int32_t near = 3 * static_cast<int32_t>(c[i * cw + j]) + c[i2 * cw + j];
  const int32_t far = 3 * static_cast<int32_t>(c[i * cw + j2]) + c[i2 * cw + j2];
  return (3 * near + far + ((q & 1) ? 7 : 8)) >> 4;
}

// Steps 1-2 at pixel k (0 <= k < H*W) of image `img`: writes the component samples into planes (C, H, W) (uint8).
PR_HD void jpeg_encode_pixel(const JpegParams& p, int64_t img, int64_t k, uint8_t* planes) {
  const int64_t hw = p.plane();
  const float* x = p.x + img * p.image();
  if (p.c == 1) {
    planes[k] = static_cast<uint8_t>(jpeg_level(x[k]));
    return;
  }
  jpeg_rgb_to_ycc(jpeg_level(x[k]), jpeg_level(x[hw + k]), jpeg_level(x[2 * hw + k]), planes[k], planes[hw + k],
                  planes[2 * hw + k]);
}

// Steps 3-6 for block `blk` (0 <= blk < p.blocks()) of one image: planes = its (C, H, W) component samples,
// luma = decoded Y (H x W), chroma = decoded Cb then Cr (2 x ch x cw). d: jpeg_dct_matrix.
PR_HD void jpeg_block_roundtrip(const JpegParams& p, int64_t blk, const uint8_t* planes, uint8_t* luma,
                                uint8_t* chroma, const double* d) {
  double s[64];
  const int64_t nly = p.luma_blocks_y(), nlx = p.luma_blocks_x();
  if (blk < nly * nlx) {
    const int64_t by = blk / nlx, bx = blk % nlx;
    jpeg_gather_full(planes, p.h, p.w, by, bx, s);
    jpeg_block(s, d, p.qluma);
    jpeg_store(s, luma, p.h, p.w, by, bx);
    return;
  }
  blk -= nly * nlx;
  const int64_t ncy = p.chroma_blocks_y(), ncx = p.chroma_blocks_x();
  const int64_t comp = blk / (ncy * ncx);  // 0 = Cb, 1 = Cr
  blk %= ncy * ncx;
  const int64_t by = blk / ncx, bx = blk % ncx;
  jpeg_gather_down(planes + (1 + comp) * p.plane(), p.h, p.w, by, bx, s);
  jpeg_block(s, d, p.qchroma);
  jpeg_store(s, chroma + comp * p.ch() * p.cw(), p.ch(), p.cw(), by, bx);
}

// Steps 7-8 at pixel k of image `img` from its decoded planes.
PR_HD void jpeg_decode_pixel(const JpegParams& p, int64_t img, int64_t k, const uint8_t* luma, const uint8_t* chroma) {
  const int64_t hw = p.plane();
  float* out = p.out + img * p.image();
  if (p.c == 1) {
    out[k] = static_cast<float>(luma[k]) / 255.0f;
    return;
  }
  const int64_t y = k / p.w, q = k % p.w;
  const int64_t ch = p.ch(), cw = p.cw();
  const int32_t cb = jpeg_fancy_up(chroma, ch, cw, y, q);
  const int32_t cr = jpeg_fancy_up(chroma + ch * cw, ch, cw, y, q);
  int32_t r, g, b;
  jpeg_ycc_to_rgb(luma[k], cb, cr, r, g, b);
  out[k] = static_cast<float>(r) / 255.0f;
  out[hw + k] = static_cast<float>(g) / 255.0f;
  out[2 * hw + k] = static_cast<float>(b) / 255.0f;
}

// ---- thread bodies of jpeg_cuda.cu (also run by the CpuPath::Device route of jpeg_cpu.cpp) ------------------
// Scratch of a batch: planes (B, C, H, W) uint8, luma (B, H, W), chroma (B, 2, ch, cw) (jpeg_chroma_size per image).

PR_HD int64_t jpeg_chroma_size(const JpegParams& p) { return p.c == 3 ? 2 * p.ch() * p.cw() : 0; }

// Encode: thread t = pixel t % (H W) of image t / (H W).
PR_HD void jpeg_encode_thread(const JpegParams& p, uint8_t* planes, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t img = t / hw;
  jpeg_encode_pixel(p, img, t % hw, planes + img * p.c * hw);
}

// Blocks: thread t = block t % blocks() of image t / blocks(); d: jpeg_dct_matrix.
PR_HD void jpeg_block_thread(const JpegParams& p, const uint8_t* planes, uint8_t* luma, uint8_t* chroma,
                             const double* d, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t per = p.blocks();
  const int64_t img = t / per;
  jpeg_block_roundtrip(p, t % per, planes + img * p.c * hw, luma + img * hw, chroma + img * jpeg_chroma_size(p), d);
}

// Decode: thread t = pixel t % (H W) of image t / (H W).
PR_HD void jpeg_decode_thread(const JpegParams& p, const uint8_t* luma, const uint8_t* chroma, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t img = t / hw;
  jpeg_decode_pixel(p, img, t % hw, luma + img * hw, chroma + img * jpeg_chroma_size(p));
}

// Entry points: jpeg_cpu.cpp (OpenMP over the batch; blocks 4 at a time in SIMD lanes, vectorised row loops for
// steps 1-2 and 7-8 with the same integer arithmetic as the per-pixel helpers above) and jpeg_cuda.cu.
void jpeg_cpu(const JpegParams& p);
#if PYREPAIR_WITH_CUDA
void jpeg_cuda(const JpegParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
