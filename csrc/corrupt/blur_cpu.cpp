// CPU loops of the blur corruptions (math in blur.h): one (image, channel) plane per work item, so the result does
// not depend on the thread count.
//
// The loops are row-major rewrites of the per-pixel functions of blur.h: an output row is an accumulator row, and
// each tap adds `weight * source row` to it (`acc = acc + w * v`, taps in the same increasing order from acc = 0),
// so every output value is computed by the same float operations in the same order as blur.h and the torch
// reference (bit-identical), while the inner loops run over contiguous memory and vectorise. Border handling is
// hoisted into padded row copies or index tables built once per plane or per call.
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "corrupt/blur.h"
#include "common/simd.h"

namespace pyrepair {

namespace {

#if defined(__GNUC__)
typedef float V8 __attribute__((vector_size(32)));                           // 8 lanes, one AVX register
typedef float V8u __attribute__((vector_size(32), aligned(4), may_alias));  // unaligned access to float data
#endif

// d[x] = sum_k wts[k] * ptrs[k][x] (acc = 0, acc = acc + w v in k order, per lane as blur.h), x < w. With GCC
// vector types 64 (then 32, then 8) outputs at a time stay in registers across all taps (independent add chains,
// one load per tap and value); the tail, and compilers without vector types, use a plain loop.
PR_CLONES void accumulate_taps(const float* const* ptrs, const float* wts, size_t n, float* __restrict d, int64_t w) {
  int64_t x0 = 0;
#if defined(__GNUC__)
  constexpr int kVec = 8;
  for (; x0 + 8 * kVec <= w; x0 += 8 * kVec) {
    V8 acc[kVec];
    for (int l = 0; l < kVec; ++l) acc[l] = V8{0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (size_t k = 0; k < n; ++k) {
      const float wt = wts[k];
      const float* s = ptrs[k] + x0;
      for (int l = 0; l < kVec; ++l) acc[l] = acc[l] + wt * *reinterpret_cast<const V8u*>(s + 8 * l);
    }
    for (int l = 0; l < kVec; ++l) *reinterpret_cast<V8u*>(d + x0 + 8 * l) = acc[l];
  }
  for (; x0 + 32 <= w; x0 += 32) {  // e.g. the whole row of a 32 px image
    V8 acc[4];
    for (int l = 0; l < 4; ++l) acc[l] = V8{0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (size_t k = 0; k < n; ++k) {
      const float wt = wts[k];
      const float* s = ptrs[k] + x0;
      for (int l = 0; l < 4; ++l) acc[l] = acc[l] + wt * *reinterpret_cast<const V8u*>(s + 8 * l);
    }
    for (int l = 0; l < 4; ++l) *reinterpret_cast<V8u*>(d + x0 + 8 * l) = acc[l];
  }
  for (; x0 + 8 <= w; x0 += 8) {
    V8 acc = V8{0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    for (size_t k = 0; k < n; ++k) acc = acc + wts[k] * *reinterpret_cast<const V8u*>(ptrs[k] + x0);
    *reinterpret_cast<V8u*>(d + x0) = acc;
  }
#endif
  if (x0 < w) {
    for (int64_t q = x0; q < w; ++q) d[q] = 0.f;
    for (size_t k = 0; k < n; ++k) {
      const float wt = wts[k];
      const float* __restrict s = ptrs[k];
      for (int64_t q = x0; q < w; ++q) d[q] = d[q] + wt * s[q];
    }
  }
}

// Vertical Gaussian pass of one plane (edge replicate): dst row y = sum_k taps[k] src row clamp(y + k - r).
void gauss_vertical(const float* src, float* dst, int64_t h, int64_t w, const float* taps, int64_t n,
                    std::vector<const float*>& ptrs) {
  const int64_t r = n / 2;
  ptrs.resize(static_cast<size_t>(n));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t k = 0; k < n; ++k) ptrs[k] = src + clamp_index(y + k - r, h) * w;
    accumulate_taps(ptrs.data(), taps, static_cast<size_t>(n), dst + y * w, w);
  }
}

PR_CLONES void finish_row(float* __restrict d, int64_t w, bool quantize) {
  if (quantize) {
    for (int64_t x = 0; x < w; ++x) d[x] = floorf(blur_clip01(d[x]) * 255.f) / 255.f;
  } else {
    for (int64_t x = 0; x < w; ++x) d[x] = blur_clip01(d[x]);
  }
}

// Motion blur's 8-bit rounding of a row (rint: half to even, as torch.round).
PR_CLONES void round8_row(float* __restrict d, int64_t w) {
  for (int64_t x = 0; x < w; ++x) d[x] = rintf(blur_clip01(d[x]) * 255.f) / 255.f;
}

// Horizontal Gaussian pass of one plane (edge replicate) into dst, then clip (quantize = false) or 8-bit
// truncation. pad: scratch of w + 2 r floats.
void gauss_horizontal(const float* src, float* dst, float* pad, int64_t h, int64_t w, const float* taps, int64_t n,
                      bool quantize, std::vector<const float*>& ptrs) {
  const int64_t r = n / 2;
  ptrs.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) ptrs[k] = pad + k;
  for (int64_t y = 0; y < h; ++y) {
    const float* s = src + y * w;
    for (int64_t i = 0; i < w + 2 * r; ++i) pad[i] = s[clamp_index(i - r, w)];
    accumulate_taps(ptrs.data(), taps, static_cast<size_t>(n), dst + y * w, w);
    finish_row(dst + y * w, w, quantize);
  }
}

struct Scratch {
  std::vector<float> a;  // plane-sized
  std::vector<float> b;  // padded rows / planes
  std::vector<float> c;  // image-sized (glass)
  std::vector<const float*> ptrs;
};

// Separable Gaussian of every plane of one image: src -> tmp (H pass) -> dst (W pass, then clip or 8-bit truncation).
void gauss_image(const BlurParams& p, int64_t planes, const float* src, float* dst, bool quantize, Scratch& s) {
  const int64_t hw = p.plane();
  s.a.resize(static_cast<size_t>(hw));
  s.b.resize(static_cast<size_t>(p.w + p.n_weights));
  for (int64_t ch = 0; ch < planes; ++ch) {
    gauss_vertical(src + ch * hw, s.a.data(), p.h, p.w, p.weights, p.n_weights, s.ptrs);
    gauss_horizontal(s.a.data(), dst + ch * hw, s.b.data(), p.h, p.w, p.weights, p.n_weights, quantize, s.ptrs);
  }
}

// The glass-blur draws of one image, in loop order (iteration, h descending, w descending): source offset
// dy * W + dx of each step. Independent of the pixel values, so computed up front in a tight loop.
void glass_offsets(const BlurParams& p, uint64_t stream, std::vector<int32_t>& offs, std::vector<uint32_t>& w0,
                   std::vector<uint32_t>& w1) {
  offs.clear();
  const int64_t nx = p.w - 2 * p.delta;  // x = W - delta down to delta + 1
  if (nx <= 0) return;
  w0.resize(static_cast<size_t>(nx));
  w1.resize(static_cast<size_t>(nx));
  for (int64_t it = 0; it < p.iterations; ++it) {
    for (int64_t y = p.h - p.delta; y >= p.delta + 1; --y) {
      philox_words01(p.seed, stream, static_cast<uint64_t>((it * p.h + y) * p.w + p.delta + 1), nx, w0.data(),
                     w1.data());
      for (int64_t i = nx - 1; i >= 0; --i) {
        const int64_t dx = glass_draw(w0[i], p.delta);
        const int64_t dy = glass_draw(w1[i], p.delta);
        offs.push_back(static_cast<int32_t>(dy * p.w + dx));
      }
    }
  }
}

// glass_shuffle of blur.h with precomputed offsets (same visiting order, same copies / swaps).
void glass_apply(const BlurParams& p, float* img, const std::vector<int32_t>& offs) {
  const int64_t hw = p.plane();
  size_t k = 0;
  for (int64_t it = 0; it < p.iterations; ++it) {
    for (int64_t y = p.h - p.delta; y >= p.delta + 1; --y) {
      for (int64_t x = p.w - p.delta; x >= p.delta + 1; --x) {
        const int64_t dst = y * p.w + x;
        const int64_t src = dst + offs[k++];
        if (p.c == 1) {
          const float t = img[dst];
          img[dst] = img[src];
          img[src] = t;
        } else {
          for (int64_t ch = 0; ch < p.c; ++ch) img[ch * hw + dst] = img[ch * hw + src];
        }
      }
    }
  }
}

// Glass blur: one image per work item (the shuffle is sequential within an image).
void glass_cpu(const BlurParams& p) {
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    Scratch s;
    std::vector<int32_t> offs;
    std::vector<uint32_t> w0, w1;
    s.c.resize(static_cast<size_t>(p.image()));
    for (int64_t img = begin; img < end; ++img) {
      gauss_image(p, p.c, p.x + img * p.image(), s.c.data(), true, s);
      glass_offsets(p, glass_stream(p.index_offset, img, p.severity), offs, w0, w1);
      glass_apply(p, s.c.data(), offs);
      gauss_image(p, p.c, s.c.data(), p.out + img * p.image(), false, s);
    }
  });
}

// ---- defocus (2-D correlation, reflect-101) ----------------------------------------------------------------------

// Non-zero taps of the kernel, row by row: a zero tap adds 0 * v = +0 to a sum of non-negative terms, which never
// changes it, so skipping it keeps the result bit for bit.
struct CorrTaps {
  std::vector<int64_t> row;   // kernel row i of each tap
  std::vector<int64_t> col;   // kernel column j
  std::vector<float> weight;  // kern[i * kw + j]
};

CorrTaps corr_taps(const BlurParams& p) {
  CorrTaps t;
  for (int64_t i = 0; i < p.kh; ++i) {
    for (int64_t j = 0; j < p.kw; ++j) {
      const float v = p.weights[i * p.kw + j];
      if (v == 0.f) continue;
      t.row.push_back(i);
      t.col.push_back(j);
      t.weight.push_back(v);
    }
  }
  return t;
}

// reflect101 with the in-range case first (no integer division for almost every index).
inline int64_t reflect_fast(int64_t i, int64_t n) { return (i >= 0 && i < n) ? i : reflect101(i, n); }

// One plane: pad every row with reflect-101 columns (rx each side), then per output row accumulate the taps in
// kernel order (row i, column j increasing) from the padded rows.
void correlate_plane(const BlurParams& p, const CorrTaps& t, const float* __restrict x, float* __restrict out,
                     float* __restrict pad, std::vector<const float*>& ptrs) {
  const int64_t rx = p.kw / 2, ry = p.kh / 2;
  const int64_t pw = p.w + 2 * rx;
  for (int64_t y = 0; y < p.h; ++y) {
    const float* __restrict s = x + y * p.w;
    float* __restrict prow = pad + y * pw;
    for (int64_t i = 0; i < pw; ++i) prow[i] = s[reflect_fast(i - rx, p.w)];
  }
  const size_t n = t.weight.size();
  ptrs.resize(n);
  for (int64_t y = 0; y < p.h; ++y) {
    for (size_t k = 0; k < n; ++k) ptrs[k] = pad + reflect_fast(y + t.row[k] - ry, p.h) * pw + t.col[k];
    float* __restrict d = out + y * p.w;
    accumulate_taps(ptrs.data(), t.weight.data(), n, d, p.w);
    finish_row(d, p.w, false);
  }
}

// ---- motion (one-sided line, clamped coordinates, 8-bit rounding) ----------------------------------------------

void motion_plane(const BlurParams& p, const int32_t* off, const float* __restrict x, float* __restrict out,
                  float* __restrict pad, std::vector<const float*>& ptrs) {
  int64_t rx = 0;
  for (int64_t i = 0; i < p.n_weights; ++i) {
    const int64_t a = off[2 * i + 1] < 0 ? -off[2 * i + 1] : off[2 * i + 1];
    rx = a > rx ? a : rx;
  }
  const bool padded = rx <= p.w;  // else: |dx| > W, clamp per pixel
  rx = padded ? rx : 0;
  const int64_t pw = p.w + 2 * rx;
  for (int64_t y = 0; y < p.h; ++y) {
    const float* __restrict s = x + y * p.w;
    float* __restrict prow = pad + y * pw;
    for (int64_t i = 0; i < pw; ++i) prow[i] = s[clamp_index(i - rx, p.w)];
  }
  ptrs.resize(static_cast<size_t>(p.n_weights));
  for (int64_t y = 0; y < p.h; ++y) {
    float* __restrict d = out + y * p.w;
    if (padded) {
      for (int64_t i = 0; i < p.n_weights; ++i) {
        ptrs[i] = pad + clamp_index(y + off[2 * i], p.h) * pw + rx + off[2 * i + 1];
      }
      accumulate_taps(ptrs.data(), p.weights, static_cast<size_t>(p.n_weights), d, p.w);
    } else {
      for (int64_t q = 0; q < p.w; ++q) d[q] = 0.f;
      for (int64_t i = 0; i < p.n_weights; ++i) {
        const float wt = p.weights[i];
        const float* __restrict row = pad + clamp_index(y + off[2 * i], p.h) * pw;
        for (int64_t q = 0; q < p.w; ++q) d[q] = d[q] + wt * row[clamp_index(q + off[2 * i + 1], p.w)];
      }
    }
    round8_row(d, p.w);
  }
}

// ---- zoom (mean of the image and its clipped zooms) -------------------------------------------------------------

// Axis tables of one zoom factor (blur.h zoom_axis, evaluated once per index instead of once per pixel).
struct ZoomTables {
  std::vector<int32_t> y0, y1, x0, x1;
  std::vector<float> ly0, ly1, lx0, lx1;
  int64_t row_lo = 0, row_hi = 0;  // source rows used: [row_lo, row_hi]
};

std::vector<ZoomTables> zoom_tables(const BlurParams& p) {
  std::vector<ZoomTables> tabs(static_cast<size_t>(p.n_weights));
  for (int64_t k = 0; k < p.n_weights; ++k) {
    ZoomTables& t = tabs[static_cast<size_t>(k)];
    for (int64_t y = 0; y < p.h; ++y) {
      const ZoomAxis a = zoom_axis(y, p.h, p.weights[k]);
      t.y0.push_back(static_cast<int32_t>(a.i0));
      t.y1.push_back(static_cast<int32_t>(a.i1));
      t.ly0.push_back(1.f - a.l1);
      t.ly1.push_back(a.l1);
    }
    for (int64_t x = 0; x < p.w; ++x) {
      const ZoomAxis a = zoom_axis(x, p.w, p.weights[k]);
      t.x0.push_back(static_cast<int32_t>(a.i0));
      t.x1.push_back(static_cast<int32_t>(a.i1));
      t.lx0.push_back(1.f - a.l1);
      t.lx1.push_back(a.l1);
    }
    t.row_lo = p.h;
    t.row_hi = -1;
    for (int64_t y = 0; y < p.h; ++y) {
      t.row_lo = t.y0[y] < t.row_lo ? t.y0[y] : t.row_lo;
      t.row_hi = t.y1[y] > t.row_hi ? t.y1[y] : t.row_hi;
    }
  }
  return tabs;
}

// Horizontal resampling of rows [lo, hi] of a plane: hr[r][x] = lx0 v(r, x0) + lx1 v(r, x1) (zoom_at's `top` /
// `bot` of that source row).
PR_CLONES void zoom_rows(const ZoomTables& t, const float* __restrict x, float* __restrict hr, int64_t w) {
  const int32_t* __restrict x0 = t.x0.data();
  const int32_t* __restrict x1 = t.x1.data();
  const float* __restrict lx0 = t.lx0.data();
  const float* __restrict lx1 = t.lx1.data();
  for (int64_t r = t.row_lo; r <= t.row_hi; ++r) {
    const float* __restrict s = x + r * w;
    float* __restrict d = hr + r * w;
    for (int64_t q = 0; q < w; ++q) d[q] = lx0[q] * s[x0[q]] + lx1[q] * s[x1[q]];
  }
}

// acc row y = acc + (ly0 top + ly1 bot), all rows.
PR_CLONES void zoom_accumulate(const ZoomTables& t, const float* __restrict hr, float* __restrict acc, int64_t h,
                               int64_t w) {
  for (int64_t y = 0; y < h; ++y) {
    const float a = t.ly0[y], b = t.ly1[y];
    const float* __restrict top = hr + static_cast<int64_t>(t.y0[y]) * w;
    const float* __restrict bot = hr + static_cast<int64_t>(t.y1[y]) * w;
    float* __restrict d = acc + y * w;
    for (int64_t q = 0; q < w; ++q) d[q] = d[q] + (a * top[q] + b * bot[q]);
  }
}

PR_CLONES void zoom_finish(float* __restrict d, int64_t n, float count) {
  for (int64_t q = 0; q < n; ++q) d[q] = blur_clip01(d[q] / count);
}

}  // namespace

// CpuPath::Device: blur_cuda.cu's launches (blur_schedule of gauss_thread, glass_shuffle_thread, pointwise_thread)
// with host scratch in place of tmp / work.
static void blur_device_path(const BlurParams& p) {
  const int64_t total = p.b * p.image();
  std::vector<float> tmp(static_cast<size_t>(total)), work(static_cast<size_t>(total));
  blur_schedule(
      p, tmp.data(), work.data(),
      [&](const float* src, float* dst, int pass, bool quantize) {
        host_launch(total, [&](int64_t t) { gauss_thread(p, src, dst, pass, quantize, t); });
      },
      [&](float* img) { host_launch(p.b, [&](int64_t b) { glass_shuffle_thread(p, img, b); }); },
      [&] { host_launch(total, [&](int64_t t) { pointwise_thread(p, t); }); });
}

void corrupt_blur_cpu(const BlurParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return blur_device_path(p);
  if (p.op == BlurOp::Glass) {
    glass_cpu(p);
    return;
  }
  const int64_t hw = p.plane();
  if (p.op == BlurOp::Gaussian) {
    parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
      Scratch s;
      for (int64_t pl = begin; pl < end; ++pl) gauss_image(p, 1, p.x + pl * hw, p.out + pl * hw, false, s);
    });
    return;
  }
  if (p.op == BlurOp::Correlate) {
    const CorrTaps taps = corr_taps(p);
    parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> pad(static_cast<size_t>(p.h * (p.w + 2 * (p.kw / 2))));
      std::vector<const float*> ptrs;
      for (int64_t pl = begin; pl < end; ++pl) {
        correlate_plane(p, taps, p.x + pl * hw, p.out + pl * hw, pad.data(), ptrs);
      }
    });
    return;
  }
  if (p.op == BlurOp::Motion) {
    parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> pad(static_cast<size_t>(p.h * (3 * p.w)));
      std::vector<const float*> ptrs;
      for (int64_t pl = begin; pl < end; ++pl) {
        motion_plane(p, p.offsets + (pl / p.c) * p.n_weights * 2, p.x + pl * hw, p.out + pl * hw, pad.data(), ptrs);
      }
    });
    return;
  }
  // Zoom
  const std::vector<ZoomTables> tabs = zoom_tables(p);
  const float count = static_cast<float>(p.n_weights + 1);
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> hr(static_cast<size_t>(hw));
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      float* acc = p.out + pl * hw;
      for (int64_t k = 0; k < hw; ++k) acc[k] = x[k];
      for (const ZoomTables& t : tabs) {
        zoom_rows(t, x, hr.data(), p.w);
        zoom_accumulate(t, hr.data(), acc, p.h, p.w);
      }
      zoom_finish(acc, hw, count);
    }
  });
}

}  // namespace pyrepair
