// CPU loops of the blur corruptions (math in blur.h): one (image, channel) plane per work item, so the result does
// not depend on the thread count.
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/blur.h"

namespace pyrepair {

namespace {

// Separable Gaussian of every plane of one image: src -> tmp (H pass) -> dst (W pass, then clip or 8-bit truncation).
void gauss_image(const BlurParams& p, const float* src, float* tmp, float* dst, bool quantize) {
  const int64_t hw = p.plane();
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const float* s = src + ch * hw;
    float* d = dst + ch * hw;
    for (int64_t y = 0; y < p.h; ++y)
      for (int64_t i = 0; i < p.w; ++i) tmp[y * p.w + i] = gauss_pass(s, p.h, p.w, y, i, p.weights, p.n_weights, true);
    for (int64_t y = 0; y < p.h; ++y) {
      for (int64_t i = 0; i < p.w; ++i) {
        const float v = gauss_pass(tmp, p.h, p.w, y, i, p.weights, p.n_weights, false);
        d[y * p.w + i] = quantize ? quantize_u8(v) : blur_clip01(v);
      }
    }
  }
}

// Glass blur: one image per work item (the shuffle is sequential within an image).
void glass_cpu(const BlurParams& p) {
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>(p.plane()));
    std::vector<float> work(static_cast<size_t>(p.image()));
    for (int64_t img = begin; img < end; ++img) {
      gauss_image(p, p.x + img * p.image(), tmp.data(), work.data(), true);
      glass_shuffle(work.data(), p.c, p.h, p.w, p.delta, p.iterations, p.seed,
                    glass_stream(p.index_offset, img, p.severity));
      gauss_image(p, work.data(), tmp.data(), p.out + img * p.image(), false);
    }
  });
}

}  // namespace

void corrupt_blur_cpu(const BlurParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (p.op == BlurOp::Glass) {
    glass_cpu(p);
    return;
  }
  const int64_t hw = p.plane();
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp;
    if (p.op == BlurOp::Gaussian) tmp.resize(static_cast<size_t>(hw));
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      float* out = p.out + pl * hw;
      switch (p.op) {
        case BlurOp::Gaussian:
          for (int64_t y = 0; y < p.h; ++y)
            for (int64_t i = 0; i < p.w; ++i)
              tmp[y * p.w + i] = gauss_pass(x, p.h, p.w, y, i, p.weights, p.n_weights, true);
          for (int64_t y = 0; y < p.h; ++y)
            for (int64_t i = 0; i < p.w; ++i)
              out[y * p.w + i] = blur_clip01(gauss_pass(tmp.data(), p.h, p.w, y, i, p.weights, p.n_weights, false));
          break;
        case BlurOp::Correlate:
          for (int64_t y = 0; y < p.h; ++y)
            for (int64_t i = 0; i < p.w; ++i)
              out[y * p.w + i] = blur_clip01(correlate_at(x, p.h, p.w, y, i, p.weights, p.kh, p.kw));
          break;
        case BlurOp::Motion: {
          const int32_t* off = p.offsets + (pl / p.c) * p.n_weights * 2;
          for (int64_t y = 0; y < p.h; ++y)
            for (int64_t i = 0; i < p.w; ++i)
              out[y * p.w + i] = motion_at(x, p.h, p.w, y, i, p.weights, off, p.n_weights);
          break;
        }
        case BlurOp::Zoom:
          for (int64_t y = 0; y < p.h; ++y)
            for (int64_t i = 0; i < p.w; ++i) out[y * p.w + i] = zoom_at(x, p.h, p.w, y, i, p.weights, p.n_weights);
          break;
        case BlurOp::Glass:
          break;  // handled by glass_cpu
      }
    }
  });
}

}  // namespace pyrepair
