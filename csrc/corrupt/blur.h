// Kernel family `corrupt` (blur half): gaussian_blur, defocus_blur, motion_blur, zoom_blur, glass_blur
// (spec/deeprepair.md §C.0, §C.2 items 4 to 7, 17), batched over float32 (B, C, H, W) images in [0, 1], C in {1, 3}.
//
// Division of labour: pyrepair/corrupt/_blur.py builds every filter in float64 and hands it over as float32
// (Gaussian taps, the defocus disk kernel, the motion-blur weights plus per-image integer offsets, the zoom
// factors); the kernels below only apply it. Motion-blur angles come from Philox (common/rng.h) in _blur.py:
// word 0 of block 0 of the image's stream ((index_offset + b) * 32 + 6) * 8 + severity, as in corrupt.h.
// Glass blur draws in the kernel (glass_shuffle): stream ((index_offset + b) * 32 + 5) * 8 + severity, block
// (iteration * H + h) * W + w; dx from word 0, dy from word 1, each floor(word * 2 delta / 2^32) - delta, i.e.
// uniform on {-delta, ..., delta - 1} (numpy randint's half-open range) with integer arithmetic only.
//
// Accumulation order is fixed (taps in increasing index, acc = acc + w * v from acc = 0, no FMA: CMakeLists sets
// -ffp-contract=off / --fmad=false), and the torch reference in _blur.py sums in the same order, so gaussian,
// defocus and motion blur match it bit for bit; zoom blur matches to ~1e-6 (torch's bilinear interpolation
// groups its products differently).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/index.h"
#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/stream.h"

namespace pyrepair {

enum class BlurOp : int {
  Gaussian = 0,   // separable taps `weights` (n_weights = 2 r + 1), H pass then W pass, edge replicate
  Correlate = 1,  // 2-D kernel `weights` (kh x kw, odd sides, centred), reflect-101
  Motion = 2,     // n_weights one-sided taps, offsets (B, n_weights, 2) = (dy, dx) per image, clamp, round 8 bit
  Zoom = 3,       // `weights` = the zoom factors (n_weights of them); mean of x and clipped_zoom(x, z) per z
  Glass = 4,      // Gaussian taps `weights`, 8-bit truncation, glass_shuffle, Gaussian again (tmp, work: scratch)
};

struct BlurParams {
  const float* x;          // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;              // output, same shape; may not alias x
  float* tmp;              // Gaussian, Glass: scratch of the shape of x (the H pass); unused otherwise
  float* work;             // Glass (CUDA): second scratch of the shape of x; the CPU allocates its own
  int64_t b;               // batch size
  int64_t c;               // channels (1 or 3)
  int64_t h;               // height
  int64_t w;               // width
  BlurOp op;               // which filter
  const float* weights;    // see BlurOp
  int64_t n_weights;       // number of entries of `weights`
  int64_t kh;              // Correlate: kernel height (odd)
  int64_t kw;              // Correlate: kernel width (odd)
  const int32_t* offsets;  // Motion: (B, n_weights, 2) int32 (dy, dx)
  int64_t delta;           // Glass: maximal displacement
  int64_t iterations;      // Glass: number of shuffle sweeps
  uint64_t seed;           // Glass: Philox key
  uint64_t index_offset;   // Glass: global index of image 0
  int severity;            // Glass: RNG key part
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
};

PR_HD float blur_clip01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

// cv2 BORDER_REFLECT_101 (`d c b | a b c d`), folded as often as needed; n = 1 -> 0.
PR_HD int64_t reflect101(int64_t i, int64_t n) {
  if (n <= 1) return 0;
  const int64_t period = 2 * (n - 1);
  i = i % period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// One separable Gaussian pass at (y, x) of a plane: along H (vertical = true) or W, edge replicate.
PR_HD float gauss_pass(const float* plane, int64_t h, int64_t w, int64_t y, int64_t x, const float* taps,
                       int64_t n, bool vertical) {
  const int64_t r = n / 2;
  float acc = 0.f;
  for (int64_t k = 0; k < n; ++k) {
    const float v = vertical ? plane[clamp_index(y + k - r, h) * w + x] : plane[y * w + clamp_index(x + k - r, w)];
    acc = acc + taps[k] * v;
  }
  return acc;
}

// 2-D correlation at (y, x) of a plane with a centred kh x kw kernel, reflect-101 (cv2.filter2D).
PR_HD float correlate_at(const float* plane, int64_t h, int64_t w, int64_t y, int64_t x, const float* kern,
                         int64_t kh, int64_t kw) {
  const int64_t ry = kh / 2;
  const int64_t rx = kw / 2;
  float acc = 0.f;
  for (int64_t i = 0; i < kh; ++i) {
    const int64_t yy = reflect101(y + i - ry, h);
    for (int64_t j = 0; j < kw; ++j) acc = acc + kern[i * kw + j] * plane[yy * w + reflect101(x + j - rx, w)];
  }
  return acc;
}

// ImageMagick motion blur at (y, x): sum_i k_i in(y + dy_i, x + dx_i), clamped coordinates, then clip and round to
// 8-bit levels (rint: half to even, as torch.round).
PR_HD float motion_at(const float* plane, int64_t h, int64_t w, int64_t y, int64_t x, const float* k,
                      const int32_t* off, int64_t n) {
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t yy = clamp_index(y + off[2 * i], h);
    const int64_t xx = clamp_index(x + off[2 * i + 1], w);
    acc = acc + k[i] * plane[yy * w + xx];
  }
  return rintf(blur_clip01(acc) * 255.f) / 255.f;
}

// clipped_zoom along one axis of length n: crop ch = ceil(n / z) centred at top = (n - ch) // 2, resize to
// m = round(ch z) corner-aligned (scipy zoom order 1), keep rows trim .. trim + n - 1, trim = (m - n) // 2.
// Output index i -> source index i0 (in the full axis), i0 + 1 clamped to the crop, weight l1 of i0 + 1.
struct ZoomAxis {
  int64_t i0;
  int64_t i1;
  float l1;
};

PR_HD ZoomAxis zoom_axis(int64_t i, int64_t n, float z) {
  const double zd = static_cast<double>(z);
  int64_t ch = static_cast<int64_t>(ceil(static_cast<double>(n) / zd));
  if (ch < 1) ch = 1;
  if (ch > n) ch = n;
  const int64_t top = (n - ch) / 2;
  const int64_t m = static_cast<int64_t>(nearbyint(static_cast<double>(ch) * zd));  // half to even, as round()
  const int64_t trim = m > n ? (m - n) / 2 : 0;
  const int64_t j = i + trim;
  const float scale = m > 1 ? static_cast<float>(ch - 1) / static_cast<float>(m - 1) : 0.f;
  const float s = scale * static_cast<float>(j);
  int64_t a = static_cast<int64_t>(s);
  if (a > ch - 1) a = ch - 1;
  const int64_t b = a + 1 < ch ? a + 1 : ch - 1;
  ZoomAxis r;
  r.i0 = top + a;
  r.i1 = top + b;
  r.l1 = s - static_cast<float>(a);
  return r;
}

// Zoom blur at (y, x): (x + sum_z clipped_zoom(x, z)) / (n + 1), bilinear weights as torch's align_corners path.
PR_HD float zoom_at(const float* plane, int64_t h, int64_t w, int64_t y, int64_t x, const float* zs, int64_t n) {
  float acc = plane[y * w + x];
  for (int64_t k = 0; k < n; ++k) {
    const ZoomAxis ay = zoom_axis(y, h, zs[k]);
    const ZoomAxis ax = zoom_axis(x, w, zs[k]);
    const float ly0 = 1.f - ay.l1;
    const float lx0 = 1.f - ax.l1;
    const float top = lx0 * plane[ay.i0 * w + ax.i0] + ax.l1 * plane[ay.i0 * w + ax.i1];
    const float bot = lx0 * plane[ay.i1 * w + ax.i0] + ax.l1 * plane[ay.i1 * w + ax.i1];
    acc = acc + (ly0 * top + ay.l1 * bot);
  }
  return blur_clip01(acc / static_cast<float>(n + 1));
}

// 8-bit truncation of a blurred value, back to [0, 1]: np.uint8(255 G(x)) / 255.
PR_HD float quantize_u8(float v) { return floorf(blur_clip01(v) * 255.f) / 255.f; }

PR_HD uint64_t glass_stream(uint64_t index_offset, int64_t image, int severity) {
  return corruption_stream(index_offset, image, CorruptionId::GlassBlur, severity);
}

// Uniform integer in [-delta, delta) from one 32-bit word (multiply-shift, exact on every back-end).
PR_HD int64_t glass_draw(uint32_t word, int64_t delta) {
  return static_cast<int64_t>((static_cast<uint64_t>(word) * static_cast<uint64_t>(2 * delta)) >> 32) - delta;
}

// The sequential pixel shuffle of glass blur on one (C, H, W) image, in place: for each iteration, h from
// H - delta down to delta + 1, w from W - delta down to delta + 1, pixel (h, w) takes the value of
// (h + dy, w + dx) (C = 3: numpy's view-aliasing "swap" is a copy) or trades it (C = 1: a true swap), spec §C.0.
PR_HD void glass_shuffle(float* img, int64_t c, int64_t h, int64_t w, int64_t delta, int64_t iterations,
                         uint64_t seed, uint64_t stream) {
  const int64_t hw = h * w;
  for (int64_t it = 0; it < iterations; ++it) {
    for (int64_t y = h - delta; y >= delta + 1; --y) {
      for (int64_t x = w - delta; x >= delta + 1; --x) {
        const Philox4 r = philox_block(seed, stream, static_cast<uint64_t>((it * h + y) * w + x));
        const int64_t dx = glass_draw(r.v[0], delta);
        const int64_t dy = glass_draw(r.v[1], delta);
        const int64_t dst = y * w + x;
        const int64_t src = (y + dy) * w + (x + dx);
        if (c == 1) {
          const float t = img[dst];
          img[dst] = img[src];
          img[src] = t;
        } else {
          for (int64_t ch = 0; ch < c; ++ch) img[ch * hw + dst] = img[ch * hw + src];
        }
      }
    }
  }
}

// ---- thread bodies and launch sequence of blur_cuda.cu (also the CpuPath::Device route of blur_cpu.cpp) ------

// Gaussian pass: thread t = one element; pass 0 writes the H pass of src into dst, pass 1 the W pass, clipped
// (quantize = false) or truncated to 8-bit levels (quantize = true, glass blur).
PR_HD void gauss_thread(const BlurParams& p, const float* src, float* dst, int pass, bool quantize, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t pl = t / hw;
  const int64_t y = (t % hw) / p.w;
  const int64_t x = t % p.w;
  if (pass == 0) {
    dst[t] = gauss_pass(src + pl * hw, p.h, p.w, y, x, p.weights, p.n_weights, true);
  } else {
    const float v = gauss_pass(src + pl * hw, p.h, p.w, y, x, p.weights, p.n_weights, false);
    dst[t] = quantize ? quantize_u8(v) : blur_clip01(v);
  }
}

// Correlate, motion, zoom: thread t = one output element.
PR_HD void pointwise_thread(const BlurParams& p, int64_t t) {
  const int64_t hw = p.plane();
  const int64_t pl = t / hw;
  const int64_t y = (t % hw) / p.w;
  const int64_t x = t % p.w;
  const float* plane = p.x + pl * hw;
  if (p.op == BlurOp::Correlate) {
    p.out[t] = blur_clip01(correlate_at(plane, p.h, p.w, y, x, p.weights, p.kh, p.kw));
  } else if (p.op == BlurOp::Motion) {
    const int32_t* off = p.offsets + (pl / p.c) * p.n_weights * 2;
    p.out[t] = motion_at(plane, p.h, p.w, y, x, p.weights, off, p.n_weights);
  } else {
    p.out[t] = zoom_at(plane, p.h, p.w, y, x, p.weights, p.n_weights);
  }
}

// Glass shuffle: thread = image b (the shuffle is sequential within an image).
PR_HD void glass_shuffle_thread(const BlurParams& p, float* work, int64_t b) {
  glass_shuffle(work + b * p.image(), p.c, p.h, p.w, p.delta, p.iterations, p.seed,
                glass_stream(p.index_offset, b, p.severity));
}

// The launches of one call (host side): gauss(src, dst, pass, quantize) and shuffle(work) for Gaussian / Glass
// (x -> tmp -> out; glass: x -> tmp -> work (8 bit) -> shuffle work -> tmp -> out), pointwise() otherwise.
template <typename Gauss, typename Shuffle, typename Pointwise>
void blur_schedule(const BlurParams& p, float* tmp, float* work, const Gauss& gauss, const Shuffle& shuffle,
                   const Pointwise& pointwise) {
  if (p.op == BlurOp::Gaussian) {
    gauss(p.x, tmp, 0, false);
    gauss(tmp, p.out, 1, false);
  } else if (p.op == BlurOp::Glass) {
    gauss(p.x, tmp, 0, false);
    gauss(tmp, work, 1, true);
    shuffle(work);
    gauss(work, tmp, 0, false);
    gauss(tmp, p.out, 1, false);
  } else {
    pointwise();
  }
}

// Entry points: blur_cpu.cpp (OpenMP over planes), blur_cuda.cu (one thread per output element).
void corrupt_blur_cpu(const BlurParams& p);
#if PYREPAIR_WITH_CUDA
void corrupt_blur_cuda(const BlurParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
