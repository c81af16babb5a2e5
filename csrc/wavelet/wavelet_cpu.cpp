// CPU loops of the wavelet family: OpenMP over planes / groups (common/parallel.h), per-element math in wavelet.h.
#include <algorithm>
#include <cstdint>

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
void wct_apply_cpu(const WctApplyParams& p) {
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

}  // namespace pyrepair
