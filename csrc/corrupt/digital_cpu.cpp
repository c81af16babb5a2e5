// CPU loops of the digital point corruptions: brightness, contrast, saturate (math in corrupt.h).
//
// The HSV loops evaluate brightness_rgb / saturate_rgb branch-free (both sides computed, one selected; the divisor
// of the unused side is replaced by 1), so they vectorise; the selected side is the same expression, hence the
// same bits.
#include <cstdint>

#include "common/device_path.h"
#include "common/parallel.h"
#include "corrupt/corrupt.h"
#include "common/simd.h"

namespace pyrepair {

namespace {

// fmaxf / fminf for finite inputs as a compare-select (libm calls would keep the loops scalar); the two differ at
// most in the sign of a zero result.
inline float max2(float a, float b) { return a > b ? a : b; }
inline float min2(float a, float b) { return a < b ? a : b; }

PR_CLONES void brightness_run(const float* __restrict r, const float* __restrict g, const float* __restrict b,
                              float* __restrict o0, float* __restrict o1, float* __restrict o2, int64_t n,
                              float delta) {
  for (int64_t k = 0; k < n; ++k) {
    const float v = max2(r[k], max2(g[k], b[k]));
    const float v2 = clip01(v + delta);
    const bool pos = v > 0.f;
    const float ratio = v2 / (pos ? v : 1.f);
    const float a0 = clip01(r[k] * ratio), a1 = clip01(g[k] * ratio), a2 = clip01(b[k] * ratio);
    o0[k] = pos ? a0 : v2;
    o1[k] = pos ? a1 : v2;
    o2[k] = pos ? a2 : v2;
  }
}

PR_CLONES void saturate_run(const float* __restrict r, const float* __restrict g, const float* __restrict b,
                            float* __restrict o0, float* __restrict o1, float* __restrict o2, int64_t n, float scale,
                            float shift) {
  for (int64_t k = 0; k < n; ++k) {
    const float v = max2(r[k], max2(g[k], b[k]));
    const float mn = min2(r[k], min2(g[k], b[k]));
    const float s = (v - mn) / (v > 0.f ? v : 1.f);
    const float s2 = clip01(s * scale + shift);
    const bool grey = s <= 0.f;
    const float kk = s2 / (grey ? 1.f : s);
    const float gv = v * (1.f - s2);
    const float a0 = clip01(v - (v - r[k]) * kk), a1 = clip01(v - (v - g[k]) * kk), a2 = clip01(v - (v - b[k]) * kk);
    const float gc = clip01(gv);
    o0[k] = grey ? clip01(v) : a0;
    o1[k] = grey ? gc : a1;
    o2[k] = grey ? gc : a2;
  }
}

PR_CLONES void brightness_grey(const float* __restrict x, float* __restrict out, int64_t n, float delta,
                               bool add) {
  if (add) {
    for (int64_t k = 0; k < n; ++k) out[k] = clip01(x[k] + delta);
  } else {
    for (int64_t k = 0; k < n; ++k) out[k] = clip01(x[k]);
  }
}

// Brightness and saturate: per pixel over the three channels (HSV); C = 1: brightness adds delta, saturate is the
// identity (a grey image has no saturation).
void hsv_cpu(const CorruptParams& p) {
  const int64_t hw = p.plane();
  if (p.c == 1) {
    parallel_for(p.b * hw, 16384, [&](int64_t begin, int64_t end) {
      brightness_grey(p.x + begin, p.out + begin, end - begin, p.a, p.kind == Corruption::Brightness);
    });
    return;
  }
  parallel_for(p.b * hw, 16384, [&](int64_t begin, int64_t end) {
    int64_t t = begin;
    while (t < end) {
      const int64_t img = t / hw;
      const int64_t k = t % hw;
      const int64_t n = (end - t) < (hw - k) ? (end - t) : (hw - k);
      const float* x = p.x + img * 3 * hw + k;
      float* out = p.out + img * 3 * hw + k;
      if (p.kind == Corruption::Brightness) {
        brightness_run(x, x + hw, x + 2 * hw, out, out + hw, out + 2 * hw, n, p.a);
      } else {
        saturate_run(x, x + hw, x + 2 * hw, out, out + hw, out + 2 * hw, n, p.a, p.b2);
      }
      t += n;
    }
  });
}

PR_CLONES void contrast_run(const float* __restrict x, float* __restrict out, int64_t n, float mean, float factor) {
  for (int64_t k = 0; k < n; ++k) out[k] = clip01((x[k] - mean) * factor + mean);
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
      contrast_run(x, out, hw, mean, p.a);
    }
  });
}

}  // namespace

// CpuPath::Device: corrupt_cuda.cu's hsv_kernel (hsv_thread) and contrast_kernel (one block of kContrastThreads
// per plane: contrast_partial per thread, the kernel's tree, contrast_value), so the mean has the GPU's bits too.
static void digital_device_path(const CorruptParams& p) {
  if (p.kind != Corruption::Contrast) {
    host_launch(p.b * p.plane(), [&](int64_t t) { hsv_thread(p, t); });
    return;
  }
  const int64_t hw = p.plane();
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    double partial[kContrastThreads];
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* x = p.x + pl * hw;
      for (int tid = 0; tid < kContrastThreads; ++tid) partial[tid] = contrast_partial(x, hw, tid, kContrastThreads);
      const float mean = contrast_tree_mean(partial, kContrastThreads, hw);
      for (int64_t k = 0; k < hw; ++k) p.out[pl * hw + k] = contrast_value(x[k], mean, p.a);
    }
  });
}

void corrupt_digital_cpu(const CorruptParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return digital_device_path(p);
  if (p.kind == Corruption::Contrast) {
    contrast_cpu(p);
  } else {
    hsv_cpu(p);
  }
}

}  // namespace pyrepair
