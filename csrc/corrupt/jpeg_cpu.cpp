// CPU loop of jpeg_compression (math in jpeg.h): one image per work item, so any thread count gives the same result.
//
// The 8 x 8 blocks of an image run kJpegLanes at a time (luma blocks together, then the Cb and Cr blocks together,
// as each group shares one quantisation table): every array below is lane-minor (value i of lane j at [i * L + j]),
// so each step of jpeg_block becomes a loop over the lanes that the compiler vectorises (the AVX2 clone does 4
// float64 at once). Each lane computes exactly the sums of jpeg_block in the same order (no FMA: -ffp-contract=off),
// so the results are bit-identical to jpeg_block, the CUDA kernel and the torch reference. jpeg_block skips all-zero
// rows/columns of the inverse; here a row/column is skipped only when it is zero in every lane, and the full sums
// equal the skipped ones exactly (each sum starts from +0.0 and adding a zero product never changes a value that is
// not -0.0, which a sum started from +0.0 never is). A short last group repeats its last block in the spare lanes.
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "common/simd.h"
#include "corrupt/jpeg.h"

namespace pyrepair {
namespace {

constexpr int kJpegLanes = 4;

// Steps 4-6 on kJpegLanes blocks: s[64 * L] lane-minor samples (0..255); on return the decoded samples.
PR_CLONES void jpeg_block_lanes(double* __restrict s, const double* __restrict d, const int32_t* __restrict q) {
  constexpr int L = kJpegLanes;
  alignas(32) double t[64 * L], f[64 * L], ev[32 * L], od[32 * L];
  for (int m = 0; m < 4; ++m) {
    for (int i = 0; i < 8 * L; ++i) {
      const double a = s[m * 8 * L + i] - 128.0, b = s[(7 - m) * 8 * L + i] - 128.0;
      ev[m * 8 * L + i] = a + b;
      od[m * 8 * L + i] = a - b;
    }
  }
  for (int k = 0; k < 8; ++k) {
    const double* src = (k & 1) ? od : ev;
    double* tk = t + k * 8 * L;
    const double d0 = d[k * 8 + 0];
    for (int i = 0; i < 8 * L; ++i) tk[i] = d0 * src[i];
    for (int m = 1; m < 4; ++m) {
      const double dk = d[k * 8 + m];
      for (int i = 0; i < 8 * L; ++i) tk[i] = tk[i] + dk * src[m * 8 * L + i];
    }
  }
  bool row_nz[8];
  bool col_nz[8] = {false, false, false, false, false, false, false, false};
  for (int k = 0; k < 8; ++k) {
    alignas(32) double et[4 * L], ot[4 * L];
    const double* tk = t + k * 8 * L;
    for (int n = 0; n < 4; ++n) {
      for (int j = 0; j < L; ++j) {
        et[n * L + j] = tk[n * L + j] + tk[(7 - n) * L + j];
        ot[n * L + j] = tk[n * L + j] - tk[(7 - n) * L + j];
      }
    }
    bool nz = false;
    for (int l = 0; l < 8; ++l) {
      const double* src = (l & 1) ? ot : et;
      const double qv = static_cast<double>(q[k * 8 + l]);
      const double* dl = d + l * 8;
      double* fk = f + (k * 8 + l) * L;
      for (int j = 0; j < L; ++j) {
        double c = dl[0] * src[j];
        c = c + dl[1] * src[L + j];
        c = c + dl[2] * src[2 * L + j];
        c = c + dl[3] * src[3 * L + j];
        const double r = c / qv;
        fk[j] = std::copysign(std::floor(std::fabs(r) + 0.5), r) * qv;  // jpeg_block's value (up to a zero's sign)
      }
      int any = 0;
      for (int j = 0; j < L; ++j) any |= fk[j] != 0.0;
      if (any) {
        nz = true;
        col_nz[l] = true;
      }
    }
    row_nz[k] = nz;
  }
  for (int i = 0; i < 32 * L; ++i) {
    ev[i] = 0.0;
    od[i] = 0.0;
  }
  for (int k = 0; k < 8; ++k) {
    if (!row_nz[k]) continue;
    double* dst = (k & 1) ? od : ev;
    const double* fk = f + k * 8 * L;
    for (int m = 0; m < 4; ++m) {
      const double dk = d[k * 8 + m];
      for (int i = 0; i < 8 * L; ++i) dst[m * 8 * L + i] = dst[m * 8 * L + i] + dk * fk[i];
    }
  }
  for (int m = 0; m < 4; ++m) {  // U, stored in t
    for (int i = 0; i < 8 * L; ++i) {
      t[m * 8 * L + i] = ev[m * 8 * L + i] + od[m * 8 * L + i];
      t[(7 - m) * 8 * L + i] = ev[m * 8 * L + i] - od[m * 8 * L + i];
    }
  }
  for (int m = 0; m < 8; ++m) {
    alignas(32) double e2[4 * L], o2[4 * L];
    for (int i = 0; i < 4 * L; ++i) {
      e2[i] = 0.0;
      o2[i] = 0.0;
    }
    const double* um = t + m * 8 * L;
    for (int l = 0; l < 8; ++l) {
      if (!col_nz[l]) continue;
      double* dst = (l & 1) ? o2 : e2;
      const double* dl = d + l * 8;
      for (int n = 0; n < 4; ++n) {
        for (int j = 0; j < L; ++j) dst[n * L + j] = dst[n * L + j] + um[l * L + j] * dl[n];
      }
    }
    double* sm = s + m * 8 * L;
    for (int n = 0; n < 4; ++n) {
      for (int j = 0; j < L; ++j) {
        const double lo = std::floor(((e2[n * L + j] + o2[n * L + j]) + 128.0) + 0.5);
        const double hi = std::floor(((e2[n * L + j] - o2[n * L + j]) + 128.0) + 0.5);
        sm[n * L + j] = lo < 0.0 ? 0.0 : (lo > 255.0 ? 255.0 : lo);
        sm[(7 - n) * L + j] = hi < 0.0 ? 0.0 : (hi > 255.0 ? 255.0 : hi);
      }
    }
  }
}

// Where block `blk` of one image lives: plane, its valid size, block coordinates, and whether it is chroma.
struct JpegBlockRef {
  int64_t comp;  // 0 = Y, 1 = Cb, 2 = Cr
  int64_t by, bx;
};

JpegBlockRef jpeg_locate(const JpegParams& p, int64_t blk) {
  const int64_t nly = p.luma_blocks_y(), nlx = p.luma_blocks_x();
  if (blk < nly * nlx) return {0, blk / nlx, blk % nlx};
  blk -= nly * nlx;
  const int64_t ncy = p.chroma_blocks_y(), ncx = p.chroma_blocks_x();
  const int64_t comp = blk / (ncy * ncx);
  blk %= ncy * ncx;
  return {1 + comp, blk / ncx, blk % ncx};
}

// Runs blocks [first, last) (all of one quantisation table) through jpeg_block_lanes, kJpegLanes at a time.
void jpeg_run_blocks(const JpegParams& p, int64_t first, int64_t last, const int32_t* q, const uint8_t* planes,
                     uint8_t* luma, uint8_t* chroma, const double* d) {
  constexpr int L = kJpegLanes;
  alignas(32) double one[64];
  alignas(32) double s[64 * L];
  JpegBlockRef refs[L];
  for (int64_t g = first; g < last; g += L) {
    for (int j = 0; j < L; ++j) {
      const int64_t blk = g + j < last ? g + j : last - 1;
      refs[j] = jpeg_locate(p, blk);
      if (refs[j].comp == 0) {
        jpeg_gather_full(planes, p.h, p.w, refs[j].by, refs[j].bx, one);
      } else {
        jpeg_gather_down(planes + refs[j].comp * p.plane(), p.h, p.w, refs[j].by, refs[j].bx, one);
      }
      for (int i = 0; i < 64; ++i) s[i * L + j] = one[i];
    }
    jpeg_block_lanes(s, d, q);
    for (int j = 0; j < L && g + j < last; ++j) {
      for (int i = 0; i < 64; ++i) one[i] = s[i * L + j];
      if (refs[j].comp == 0) {
        jpeg_store(one, luma, p.h, p.w, refs[j].by, refs[j].bx);
      } else {
        jpeg_store(one, chroma + (refs[j].comp - 1) * p.ch() * p.cw(), p.ch(), p.cw(), refs[j].by, refs[j].bx);
      }
    }
  }
}

// Steps 1-2 for one colour image (jpeg_encode_pixel over all pixels, as a loop the compiler vectorises).
PR_CLONES void jpeg_encode_rgb(const float* __restrict x, int64_t hw, uint8_t* __restrict planes) {
  for (int64_t k = 0; k < hw; ++k) {
    const int32_t r = jpeg_level(x[k]), g = jpeg_level(x[hw + k]), b = jpeg_level(x[2 * hw + k]);
    planes[k] = static_cast<uint8_t>((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
    planes[hw + k] = static_cast<uint8_t>((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16);
    planes[2 * hw + k] = static_cast<uint8_t>((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16);
  }
}

// Step 7 for output row y of a decoded ch x cw chroma plane c (jpeg_fancy_up along the row): cs is scratch of
// cw + 2 values (the column sums with one replicated value at each end), out receives w values.
PR_CLONES void jpeg_fancy_row(const uint8_t* __restrict c, int64_t ch, int64_t cw, int64_t w, int64_t y,
                              int32_t* __restrict cs, int32_t* __restrict out) {
  const int64_t i = y >> 1;
  int64_t i2 = (y & 1) ? i + 1 : i - 1;
  i2 = i2 < 0 ? 0 : (i2 > ch - 1 ? ch - 1 : i2);
  const uint8_t* near = c + i * cw;
  const uint8_t* far = c + i2 * cw;
  for (int64_t j = 0; j < cw; ++j) cs[j + 1] = 3 * static_cast<int32_t>(near[j]) + far[j];
  cs[0] = cs[1];
  cs[cw + 1] = cs[cw];
  const int64_t pairs = w >> 1;
  for (int64_t j = 0; j < pairs; ++j) {
    out[2 * j] = (3 * cs[j + 1] + cs[j] + 8) >> 4;
    out[2 * j + 1] = (3 * cs[j + 1] + cs[j + 2] + 7) >> 4;
  }
  if (w & 1) out[w - 1] = (3 * cs[pairs + 1] + cs[pairs] + 8) >> 4;
}

// Step 8 for one row of w pixels.
PR_CLONES void jpeg_rgb_row(const uint8_t* __restrict yv, const int32_t* __restrict cb, const int32_t* __restrict cr,
                            int64_t w, float* __restrict r, float* __restrict g, float* __restrict b) {
  for (int64_t x = 0; x < w; ++x) {
    const int32_t xb = cb[x] - 128, xr = cr[x] - 128, lum = yv[x];
    r[x] = static_cast<float>(jpeg_clamp255(lum + jpeg_shift16(91881 * xr + 32768))) / 255.0f;
    g[x] = static_cast<float>(jpeg_clamp255(lum + jpeg_shift16((-22554 * xb + 32768) + (-46802 * xr)))) / 255.0f;
    b[x] = static_cast<float>(jpeg_clamp255(lum + jpeg_shift16(116130 * xb + 32768))) / 255.0f;
  }
}

}  // namespace

// CpuPath::Device: jpeg_cuda.cu's three launches (encode, block, decode thread bodies of jpeg.h).
static void jpeg_device_path(const JpegParams& p) {
  double d[128];
  jpeg_dct_matrix(d);
  std::vector<uint8_t> planes(static_cast<size_t>(p.b * p.c * p.plane()));
  std::vector<uint8_t> luma(static_cast<size_t>(p.b * p.plane()));
  std::vector<uint8_t> chroma(static_cast<size_t>(p.b * jpeg_chroma_size(p) + 1));
  host_launch(p.b * p.plane(), [&](int64_t t) { jpeg_encode_thread(p, planes.data(), t); });
  host_launch(p.b * p.blocks(),
              [&](int64_t t) { jpeg_block_thread(p, planes.data(), luma.data(), chroma.data(), d, t); });
  host_launch(p.b * p.plane(), [&](int64_t t) { jpeg_decode_thread(p, luma.data(), chroma.data(), t); });
}

void jpeg_cpu(const JpegParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return jpeg_device_path(p);
  const int64_t hw = p.plane();
  double d[128];
  jpeg_dct_matrix(d);
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> planes(static_cast<size_t>(p.c * hw));
    std::vector<uint8_t> luma(static_cast<size_t>(hw));
    std::vector<uint8_t> chroma(static_cast<size_t>(p.c == 3 ? 2 * p.ch() * p.cw() : 1));
    std::vector<int32_t> cs(static_cast<size_t>(p.cw() + 2)), cbrow(static_cast<size_t>(p.w)),
        crrow(static_cast<size_t>(p.w));
    const int64_t blocks = p.blocks();
    const int64_t nluma = p.luma_blocks_y() * p.luma_blocks_x();
    const int64_t ch = p.ch(), cw = p.cw();
    for (int64_t img = begin; img < end; ++img) {
      if (p.c == 3) {
        jpeg_encode_rgb(p.x + img * p.image(), hw, planes.data());
      } else {
        for (int64_t k = 0; k < hw; ++k) jpeg_encode_pixel(p, img, k, planes.data());
      }
      jpeg_run_blocks(p, 0, nluma, p.qluma, planes.data(), luma.data(), chroma.data(), d);
      if (blocks > nluma) jpeg_run_blocks(p, nluma, blocks, p.qchroma, planes.data(), luma.data(), chroma.data(), d);
      float* out = p.out + img * p.image();
      if (p.c == 1) {
        for (int64_t k = 0; k < hw; ++k) out[k] = static_cast<float>(luma[k]) / 255.0f;
        continue;
      }
      for (int64_t y = 0; y < p.h; ++y) {  // steps 7-8
        jpeg_fancy_row(chroma.data(), ch, cw, p.w, y, cs.data(), cbrow.data());
        jpeg_fancy_row(chroma.data() + ch * cw, ch, cw, p.w, y, cs.data(), crrow.data());
        jpeg_rgb_row(luma.data() + y * p.w, cbrow.data(), crrow.data(), p.w, out + y * p.w, out + hw + y * p.w,
                     out + 2 * hw + y * p.w);
      }
    }
  });
}

}  // namespace pyrepair
