// CPU loops of the `transform` family (OpenMP over images via parallel_for); the per-element math is in
// transform.h, shared with the CUDA kernels. Every output element is written from its own indices only, so results
// do not depend on the number of threads.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "transform/transform.h"

namespace pyrepair {

namespace {

// Items per parallel chunk so that one chunk does at least ~`work` output values.
int64_t grain_for(int64_t values_per_item, int64_t work = 1 << 14) {
  return std::max<int64_t>(1, work / std::max<int64_t>(1, values_per_item));
}

}  // namespace

// One output image (pv, n). Same per-element math as warp_pixel (bilinear_taps, sample_taps, photometric), so the
// values are identical; the loop is arranged for the CPU: the row's taps are computed once into `row` and each
// channel row is then written contiguously, with the matrix, photometric and normalisation values held in locals
// (through WarpParams' pointers the compiler would have to reload them after every store).
template <Sampler S>
void warp_image_cpu(const WarpParams& p, int64_t pv, int64_t n, Taps* PR_RESTRICT row) {
  const int64_t plane = p.h * p.w;
  const int64_t img = pv * p.n + n;
  float m[6];
  for (int k = 0; k < 6; ++k) m[k] = p.matrices[img * 6 + k];
  const float beta = p.photometric ? p.photometric[img * 2] : 0.0f;
  const float kappa = p.photometric ? p.photometric[img * 2 + 1] : 1.0f;
  const bool photo = beta != 0.0f || kappa != 1.0f;
  const float pivot = p.pivot;
  const float* PR_RESTRICT src = p.src + p.index[n] * p.c * plane;
  float* PR_RESTRICT out = p.out + img * p.c * plane;
  for (int64_t y = 0; y < p.h; ++y) {
    for (int64_t x = 0; x < p.w; ++x) {
      float px, py;
      map_point(m, x, y, px, py);
      row[x] = bilinear_taps<S>(px, py, p.h, p.w);
    }
    for (int64_t ch = 0; ch < p.c; ++ch) {
      const float* PR_RESTRICT sp = src + ch * plane;
      float* PR_RESTRICT op = out + ch * plane + y * p.w;
      if (p.mean) {
        const float mu = p.mean[ch], sd = p.std[ch];
        for (int64_t x = 0; x < p.w; ++x) {
          float v = sample_taps(sp, row[x]);
          if (photo) v = photometric(v, beta, kappa, pivot);
          op[x] = (v - mu) / sd;
        }
      } else if (photo) {
        for (int64_t x = 0; x < p.w; ++x) op[x] = photometric(sample_taps(sp, row[x]), beta, kappa, pivot);
      } else {
        for (int64_t x = 0; x < p.w; ++x) op[x] = sample_taps(sp, row[x]);
      }
    }
  }
}

template <Sampler S>
void warp_cpu_impl(const WarpParams& p) {
  // Item i = n * P + pv: the P variants of one source image are neighbours, so a chunk reads its source once
  // (from cache) for all of them (the population case).
  parallel_for(p.n * p.variants, grain_for(p.c * p.h * p.w), [&](int64_t begin, int64_t end) {
    std::vector<Taps> row(static_cast<size_t>(p.w));  // one row of taps, per chunk
    for (int64_t i = begin; i < end; ++i) warp_image_cpu<S>(p, i % p.variants, i / p.variants, row.data());
  });
}

void warp_cpu(const WarpParams& p) {
  if (p.n * p.variants <= 0 || p.c * p.h * p.w == 0) return;
  if (device_path()) {  // CpuPath::Device: warp_kernel's thread body
    const int64_t total = p.n * p.variants * p.h * p.w;
    if (p.sampler == Sampler::Zeros) return host_launch(total, [&](int64_t i) { warp_thread<Sampler::Zeros>(p, i); });
    return host_launch(total, [&](int64_t i) { warp_thread<Sampler::Pil>(p, i); });
  }
  if (p.sampler == Sampler::Zeros) {
    warp_cpu_impl<Sampler::Zeros>(p);
  } else {
    warp_cpu_impl<Sampler::Pil>(p);
  }
}

void point_cpu(const PointParams& p) {
  const int64_t planes = p.b * p.c, plane = p.h * p.w;
  if (planes <= 0 || plane == 0) return;
  const bool need_hist = point_needs_histogram(p.op);
  parallel_for(planes, grain_for(plane), [&](int64_t begin, int64_t end) {
    int64_t hist[256];
    int lut[256];
    float lutf[256];
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* src = p.src + pl * plane;
      float* out = p.out + pl * plane;
      std::fill(hist, hist + 256, int64_t{0});
      if (need_hist)
        for (int64_t i = 0; i < plane; ++i) ++hist[level_of(src[i])];
      point_lut(p.op, p.param[pl / p.c], hist, lut);
      for (int i = 0; i < 256; ++i) lutf[i] = static_cast<float>(lut[i]) / 255.0f;
      for (int64_t i = 0; i < plane; ++i) out[i] = lutf[level_of(src[i])];
    }
  });
}

void enhance_cpu(const EnhanceParams& p) {
  const int64_t plane = p.h * p.w, image = p.c * plane;
  if (p.b <= 0 || image == 0) return;
  parallel_for(p.b, grain_for(image), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* img = p.src + n * image;
      float* out = p.out + n * image;
      const float f = p.factor[n];
      if (p.op == EnhanceOp::Contrast) {
        double sum = 0.0;  // mean luminance, accumulated in double (the reference uses float64 too)
        for (int64_t i = 0; i < plane; ++i) sum += static_cast<double>(pixel_luma(img, p.c, plane, i));
        const float grey = static_cast<float>(sum / static_cast<double>(plane));
        for (int64_t i = 0; i < image; ++i) out[i] = blend(img[i], grey, f);
        continue;
      }
      for (int64_t ch = 0; ch < p.c; ++ch)
        for (int64_t y = 0; y < p.h; ++y)
          for (int64_t x = 0; x < p.w; ++x) {
            const int64_t i = ch * plane + y * p.w + x;
            out[i] = blend(img[i], enhance_degenerate(p, img, ch, y, x), f);
          }
    }
  });
}

}  // namespace pyrepair
