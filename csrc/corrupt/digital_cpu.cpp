// CPU loops of the digital point corruptions: brightness, contrast, saturate (math in corrupt.h).
#include <cstdint>

#include "common/parallel.h"
#include "corrupt/corrupt.h"

namespace pyrepair {

namespace {

// Brightness and saturate: per pixel over the three channels (HSV); C = 1: brightness adds delta, saturate is the
// identity (a grey image has no saturation).
void hsv_cpu(const CorruptParams& p) {
  const int64_t hw = p.plane();
  if (p.c == 1) {
    parallel_for(p.b * hw, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        p.out[t] = p.kind == Corruption::Brightness ? clip01(p.x[t] + p.a) : clip01(p.x[t]);
      }
    });
    return;
  }
  parallel_for(p.b * hw, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
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
  });
}

// Contrast: one plane (image, channel) per work item; the mean is accumulated in float64 in index order and
// rounded to float32.
void contrast_cpu(const CorruptParams& p) {
  const int64_t hw = p.plane();
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      float* out = p.out + pl * hw;
      double sum = 0.0;
      for (int64_t k = 0; k < hw; ++k) sum += static_cast<double>(x[k]);
      const float mean = static_cast<float>(sum / static_cast<double>(hw));
      for (int64_t k = 0; k < hw; ++k) out[k] = contrast_value(x[k], mean, p.a);
    }
  });
}

}  // namespace

void corrupt_digital_cpu(const CorruptParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (p.kind == Corruption::Contrast) {
    contrast_cpu(p);
  } else {
    hsv_cpu(p);
  }
}

}  // namespace pyrepair
