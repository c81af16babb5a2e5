// CPU loop of elastic_transform (math in elastic.h): one image per work item.
//
// Same float64 operations in the same order as elastic_value / elastic_warped of elastic.h, restructured: the
// Philox words of the displacement noise are drawn in batches, the Gaussian passes run row-major over padded rows,
// the affine-warped image is evaluated once per integer pixel (elastic_value reads it at four integer pixels per
// output, with the same arguments, hence the same values) and the coordinates are shared by the channels.
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "common/simd.h"
#include "corrupt/elastic.h"

namespace pyrepair {

namespace {

// field <- alpha * G(noise): axis 0 (rows) into tmp, then axis 1, half-sample symmetric borders; per value
// acc = 0, acc += w_k v_k for k = -radius..radius (the scalar loop's order). pad: scratch of w + 2 radius.
PR_CLONES void smooth_field(double* __restrict f, double* __restrict tmp, double* __restrict pad, const double* wts,
                            int64_t radius, int64_t h, int64_t w, double alpha) {
  const int64_t n = 2 * radius + 1;
  for (int64_t i = 0; i < h; ++i) {
    double* __restrict d = tmp + i * w;
    for (int64_t j = 0; j < w; ++j) d[j] = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      const double wk = wts[k];
      const double* __restrict s = f + fold_reflect(i + k - radius, h) * w;
      for (int64_t j = 0; j < w; ++j) d[j] += wk * s[j];
    }
  }
  for (int64_t i = 0; i < h; ++i) {
    const double* __restrict s = tmp + i * w;
    for (int64_t j = 0; j < w + 2 * radius; ++j) pad[j] = s[fold_reflect(j - radius, w)];
    double* __restrict d = f + i * w;
    for (int64_t j = 0; j < w; ++j) d[j] = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      const double wk = wts[k];
      const double* __restrict p = pad + k;
      for (int64_t j = 0; j < w; ++j) d[j] += wk * p[j];
    }
    for (int64_t j = 0; j < w; ++j) d[j] = alpha * d[j];
  }
}

// fold_reflect / fold_reflect101 with the in-range case first (no integer division for almost every index).
inline int64_t fold(int64_t i, int64_t n) { return (i >= 0 && i < n) ? i : fold_reflect(i, n); }
inline int64_t fold101(int64_t i, int64_t n) { return (i >= 0 && i < n) ? i : fold_reflect101(i, n); }

// The affine-warped planes at every integer pixel (elastic_warped), channel by channel into warped (C, H, W).
PR_CLONES void warp_image(const float* x, double* warped, int64_t c, int64_t h, int64_t w, const double m[6]) {
  const int64_t hw = h * w;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const double xd = static_cast<double>(j), yd = static_cast<double>(i);
      const double sx = m[0] * xd + m[1] * yd + m[2];
      const double sy = m[3] * xd + m[4] * yd + m[5];
      const double fx = floor(sx), fy = floor(sy);
      const double tx = sx - fx, ty = sy - fy;
      const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
      const int64_t xa = fold101(x0, w), xb = fold101(x0 + 1, w);
      const int64_t ya = fold101(y0, h), yb = fold101(y0 + 1, h);
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = x + ch * hw;
        const double top = (1.0 - tx) * static_cast<double>(plane[ya * w + xa]) +
                           tx * static_cast<double>(plane[ya * w + xb]);
        const double bot = (1.0 - tx) * static_cast<double>(plane[yb * w + xa]) +
                           tx * static_cast<double>(plane[yb * w + xb]);
        warped[ch * hw + i * w + j] = (1.0 - ty) * top + ty * bot;
      }
    }
  }
}

// Output of every channel (elastic_value over the precomputed warped planes).
PR_CLONES void displace_image(const double* warped, const double* dx, const double* dy, float* out, int64_t c,
                              int64_t h, int64_t w) {
  const int64_t hw = h * w;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const double yy = static_cast<double>(i) + dy[i * w + j], xx = static_cast<double>(j) + dx[i * w + j];
      const double fy = floor(yy), fx = floor(xx);
      const double ty = yy - fy, tx = xx - fx;
      const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
      const int64_t ya = fold(y0, h), yb = fold(y0 + 1, h);
      const int64_t xa = fold(x0, w), xb = fold(x0 + 1, w);
      for (int64_t ch = 0; ch < c; ++ch) {
        const double* wp = warped + ch * hw;
        const double top = (1.0 - tx) * wp[ya * w + xa] + tx * wp[ya * w + xb];
        const double bot = (1.0 - tx) * wp[yb * w + xa] + tx * wp[yb * w + xb];
        out[ch * hw + i * w + j] = clip01(static_cast<float>((1.0 - ty) * top + ty * bot));
      }
    }
  }
}

PR_CLONES void noise_from_words(const uint32_t* __restrict w0, const uint32_t* __restrict w1, double* __restrict f,
                                int64_t n) {
  for (int64_t k = 0; k < n; ++k) f[k] = -1.0 + 2.0 * unit53(w0[k], w1[k]);
}

}  // namespace

// CpuPath::Device: elastic_cuda.cu's three launches (rows, columns, sample thread bodies of elastic.h).
static void elastic_device_path(const ElasticParams& p) {
  const int64_t radius = elastic_radius(p.sigma);
  const std::vector<double> wts = elastic_gauss_weights(p.sigma, radius);
  const int64_t nf = p.b * 2 * p.plane();
  std::vector<double> tmp(static_cast<size_t>(nf)), field(static_cast<size_t>(nf));
  host_launch(nf, [&](int64_t t) { elastic_rows_thread(p, wts.data(), radius, tmp.data(), t); });
  host_launch(nf, [&](int64_t t) { elastic_cols_thread(p, wts.data(), radius, tmp.data(), field.data(), t); });
  host_launch(p.b * p.image(), [&](int64_t t) { elastic_sample_thread(p, field.data(), t); });
}

void elastic_cpu(const ElasticParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return elastic_device_path(p);
  const int64_t hw = p.plane();
  const int64_t radius = elastic_radius(p.sigma);
  const std::vector<double> wts = elastic_gauss_weights(p.sigma, radius);
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> dx(static_cast<size_t>(hw)), dy(static_cast<size_t>(hw)), tmp(static_cast<size_t>(hw));
    std::vector<double> pad(static_cast<size_t>(p.w + 2 * radius)), warped(static_cast<size_t>(p.image()));
    std::vector<uint32_t> w0(static_cast<size_t>(hw)), w1(static_cast<size_t>(hw));
    for (int64_t img = begin; img < end; ++img) {
      const uint64_t stream = elastic_stream(p, img);
      double m[6];
      elastic_inverse_affine(p, stream, m);
      philox_words01(p.seed, stream, kElasticDxBlock, hw, w0.data(), w1.data());
      noise_from_words(w0.data(), w1.data(), dx.data(), hw);
      philox_words01(p.seed, stream, kElasticDyBlock, hw, w0.data(), w1.data());
      noise_from_words(w0.data(), w1.data(), dy.data(), hw);
      const double alpha = static_cast<double>(p.alpha);
      smooth_field(dx.data(), tmp.data(), pad.data(), wts.data(), radius, p.h, p.w, alpha);
      smooth_field(dy.data(), tmp.data(), pad.data(), wts.data(), radius, p.h, p.w, alpha);
      warp_image(p.x + img * p.image(), warped.data(), p.c, p.h, p.w, m);
      displace_image(warped.data(), dx.data(), dy.data(), p.out + img * p.image(), p.c, p.h, p.w);
    }
  });
}

}  // namespace pyrepair
