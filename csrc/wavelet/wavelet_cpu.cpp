// CPU loops of the wavelet family: OpenMP over planes / groups (common/parallel.h), per-element math in wavelet.h.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "wavelet/wavelet.h"

namespace pyrepair {

namespace {
// Work items per parallel chunk: chunks depend only on sizes, never on the thread count.
int64_t grain_for(int64_t work_per_item) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(work_per_item, 1)); }
}  // namespace

void haar_dwt_cpu(const HaarParams& p) {
  parallel_for(p.planes(), grain_for(p.h * p.w), [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl)
      for (int64_t i = 0; i < p.hh; ++i)
        for (int64_t j = 0; j < p.hw; ++j) haar_analysis_block(p, pl, i, j);
  });
}

void haar_idwt_cpu(const HaarParams& p) {
  parallel_for(p.planes(), grain_for(p.h * p.w), [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl)
      for (int64_t i = 0; i < p.hh; ++i)
        for (int64_t j = 0; j < p.hw; ++j) haar_synthesis_block(p, pl, i, j);
  });
}

void wavelet_moments_cpu(const MomentParams& p) {
  parallel_for(p.g, grain_for(p.c * p.c * p.n / 2), [&](int64_t begin, int64_t end) {
    for (int64_t gi = begin; gi < end; ++gi) moments_group(p, gi);
  });
}

void wavelet_eigh_cpu(const EigParams& p) {
  parallel_for(p.g, grain_for(p.c * p.c * p.c * 8), [&](int64_t begin, int64_t end) {
    for (int64_t gi = begin; gi < end; ++gi) jacobi_eigh_group(p, gi);
  });
}

// Row-wise form of wct_apply_element (same summation order per element: bias, then j = 0..C-1, then the noise
// terms), vectorised over positions.
// CpuPath::Device: wct_apply_kernel's thread body.
void wct_apply_cpu(const WctApplyParams& p) {
  if (device_path()) return host_launch(p.g * p.c * p.n, [&](int64_t t) { wct_apply_thread(p, t); });
  parallel_for(p.g, grain_for(p.c * p.c * p.n), [&](int64_t begin, int64_t end) {
    for (int64_t gi = begin; gi < end; ++gi) {
      const float* x = p.x + gi * p.c * p.n;
      const float* z = p.noise != nullptr ? p.noise + gi * p.c * p.n : nullptr;
      for (int64_t ci = 0; ci < p.c; ++ci) {
        float* PR_RESTRICT o = p.out + (gi * p.c + ci) * p.n;
        const float* m = p.mat + (gi * p.c + ci) * p.c;
        const float b0 = p.bias[gi * p.c + ci];
        for (int64_t k = 0; k < p.n; ++k) o[k] = b0;
        for (int64_t j = 0; j < p.c; ++j) {
          const float mj = m[j];
          const float cj = p.center[gi * p.c + j];
          const float* PR_RESTRICT xj = x + j * p.n;
          for (int64_t k = 0; k < p.n; ++k) o[k] += mj * (xj[k] - cj);
        }
        if (z != nullptr) {
          const float* nm = p.nmat + (gi * p.c + ci) * p.c;
          for (int64_t j = 0; j < p.c; ++j) {
            const float mj = nm[j];
            const float* PR_RESTRICT zj = z + j * p.n;
            for (int64_t k = 0; k < p.n; ++k) o[k] += mj * zj[k];
          }
        }
      }
    }
  });
}

// Cross-spectra: each chunk of frequencies keeps its C x C accumulators and walks the images in order (the
// element-wise summation order of spectral_cross_element), reading each image's rows contiguously.
// CpuPath::Device: spectral_cross_kernel's thread body.
void spectral_cross_cpu(const SpectralCrossParams& p) {
  if (device_path()) return host_launch(p.c * p.c * p.k, [&](int64_t t) { spectral_cross_thread(p, t); });
  constexpr int64_t kChunk = 128;
  const int64_t chunks = (p.k + kChunk - 1) / kChunk;
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(p.c * p.c * kChunk * 2));
    for (int64_t ch = begin; ch < end; ++ch) {
      const int64_t q0 = ch * kChunk, len = std::min(kChunk, p.k - q0);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t i = 0; i < p.n; ++i) {
        const double wi = p.w != nullptr ? p.w[i] : 1.0;
        for (int64_t a = 0; a < p.c; ++a) {
          const float* PR_RESTRICT xa = p.x + ((i * p.c + a) * p.k + q0) * 2;
          for (int64_t b = 0; b < p.c; ++b) {
            const float* PR_RESTRICT xb = p.x + ((i * p.c + b) * p.k + q0) * 2;
            double* PR_RESTRICT o = acc.data() + (a * p.c + b) * kChunk * 2;
            for (int64_t q = 0; q < len; ++q) {
              const double ar = xa[2 * q], ai = xa[2 * q + 1], br = xb[2 * q], bi = xb[2 * q + 1];
              o[2 * q] += wi * (ar * br + ai * bi);
              o[2 * q + 1] += wi * (ai * br - ar * bi);
            }
          }
        }
      }
      for (int64_t ab = 0; ab < p.c * p.c; ++ab)
        std::copy(acc.begin() + ab * kChunk * 2, acc.begin() + (ab * kChunk + len) * 2,
                  p.out + (ab * p.k + q0) * 2);
    }
  });
}

// Filter apply: one (image, channel) row per work item, vectorisable over frequencies; per element the order of
// spectral_apply_element (b ascending, then the noise term).
// CpuPath::Device: spectral_apply_kernel's thread body.
void spectral_apply_cpu(const SpectralApplyParams& p) {
  if (device_path()) return host_launch(p.n * p.c * p.k, [&](int64_t t) { spectral_apply_thread(p, t); });
  parallel_for(p.n * p.c, grain_for(p.c * p.k * 8), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row / p.c, a = row % p.c;
      float* PR_RESTRICT o = p.out + row * p.k * 2;
      std::fill(o, o + p.k * 2, 0.0f);
      for (int64_t b = 0; b < p.c; ++b) {
        const float* PR_RESTRICT m = p.mat + (a * p.c + b) * p.k * 2;
        const float* PR_RESTRICT x = p.x + (i * p.c + b) * p.k * 2;
        for (int64_t q = 0; q < p.k; ++q) {
          const float re = o[2 * q] + (m[2 * q] * x[2 * q] - m[2 * q + 1] * x[2 * q + 1]);
          const float im = o[2 * q + 1] + (m[2 * q] * x[2 * q + 1] + m[2 * q + 1] * x[2 * q]);
          o[2 * q] = re;
          o[2 * q + 1] = im;
        }
      }
      if (p.noise != nullptr) {
        const float* PR_RESTRICT z = p.noise + row * p.k * 2;
        for (int64_t q = 0; q < p.k; ++q) {
          o[2 * q] += p.nscale[q] * z[2 * q];
          o[2 * q + 1] += p.nscale[q] * z[2 * q + 1];
        }
      }
    }
  });
}

}  // namespace pyrepair
