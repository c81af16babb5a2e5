// CPU loop of elastic_transform (math in elastic.h): one image per work item.
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/elastic.h"

namespace pyrepair {

namespace {

// Normalised Gaussian weights, k = -radius..radius (scipy _gaussian_kernel1d).
std::vector<double> gaussian_weights(float sigma, int64_t radius) {
  std::vector<double> wts(static_cast<size_t>(2 * radius + 1), 1.0);
  if (radius == 0) return wts;
  const double s2 = static_cast<double>(sigma) * static_cast<double>(sigma);
  double sum = 0.0;
  for (int64_t k = -radius; k <= radius; ++k) {
    const double kd = static_cast<double>(k);
    wts[static_cast<size_t>(k + radius)] = std::exp(-0.5 / s2 * (kd * kd));
    sum += wts[static_cast<size_t>(k + radius)];
  }
  for (double& v : wts) v = v / sum;
  return wts;
}

// field <- alpha * G(noise): axis 0 (rows) into tmp, then axis 1, half-sample symmetric borders.
void smooth_field(std::vector<double>& f, std::vector<double>& tmp, const std::vector<double>& wts, int64_t radius,
                  int64_t h, int64_t w, double alpha) {
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      double acc = 0.0;
      for (int64_t k = -radius; k <= radius; ++k) {
        acc += wts[static_cast<size_t>(k + radius)] * f[fold_reflect(i + k, h) * w + j];
      }
      tmp[i * w + j] = acc;
    }
  }
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      double acc = 0.0;
      for (int64_t k = -radius; k <= radius; ++k) {
        acc += wts[static_cast<size_t>(k + radius)] * tmp[i * w + fold_reflect(j + k, w)];
      }
      f[i * w + j] = alpha * acc;
    }
  }
}

}  // namespace

void elastic_cpu(const ElasticParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  const int64_t hw = p.plane();
  const int64_t radius = elastic_radius(p.sigma);
  const std::vector<double> wts = gaussian_weights(p.sigma, radius);
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> dx(static_cast<size_t>(hw)), dy(static_cast<size_t>(hw)), tmp(static_cast<size_t>(hw));
    for (int64_t img = begin; img < end; ++img) {
      const uint64_t stream = elastic_stream(p, img);
      double m[6];
      elastic_inverse_affine(p, stream, m);
      for (int64_t k = 0; k < hw; ++k) {
        dx[k] = elastic_noise(p.seed, stream, kElasticDxBlock, k);
        dy[k] = elastic_noise(p.seed, stream, kElasticDyBlock, k);
      }
      const double alpha = static_cast<double>(p.alpha);
      smooth_field(dx, tmp, wts, radius, p.h, p.w, alpha);
      smooth_field(dy, tmp, wts, radius, p.h, p.w, alpha);
      for (int64_t ch = 0; ch < p.c; ++ch) {
        const float* plane = p.x + (img * p.c + ch) * hw;
        float* out = p.out + (img * p.c + ch) * hw;
        for (int64_t i = 0; i < p.h; ++i) {
          for (int64_t j = 0; j < p.w; ++j) out[i * p.w + j] = elastic_value(plane, p.h, p.w, m, i, j, dy[i * p.w + j],
                                                                              dx[i * p.w + j]);
        }
      }
    }
  });
}

}  // namespace pyrepair
