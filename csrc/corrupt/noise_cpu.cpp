// CPU loops of the noise corruptions: gaussian, shot, impulse, speckle (math in corrupt.h and common/fastmath.h).
//
// Work items are (image, chunk of kLanes Philox blocks or elements). Each chunk runs the per-element formulas of
// corrupt.h as loops over lanes that the compiler vectorises (Philox rounds, fm_log, fm_sincos_2pi, the Poisson
// inversion in lock step, the first PTRS attempt), with the same operations in the same order, so the results
// equal the scalar definitions (and the CUDA kernel) bit for bit. The hot loops are cloned for AVX-512 / AVX2
// (GCC target_clones, chosen at load time); the Philox lanes are common/rng.h philox_lanes (random/philox_lanes.cpp).
// Shot noise on 8-bit elements inverts the per-photons CDF tables of poisson_table.h (one uniform per element).
// Every output is written from its own indices: any thread count, same result. With the CpuPath::Device switch
// (common/device_path.h) the kernels run corrupt_cuda.cu's thread bodies instead (block_noise_thread, shot_thread).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/device_path.h"
#include "common/fastmath.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "common/simd.h"
#include "corrupt/corrupt.h"
#include "corrupt/poisson_table.h"

namespace pyrepair {

namespace {

constexpr int kLanes = kPhiloxLanes;  // Philox blocks (gaussian, speckle, impulse) or elements (shot) per chunk

using Words = PhiloxLanes;  // w[k][l]: word k of the lane-l block (common/rng.h)

// Standard normals of kLanes blocks, interleaved as in the stream: z[4 l + k] = element k of block l.
PR_CLONES void box_muller_lanes(const Words& w, float* z) {
  float zc[2][kLanes], zs[2][kLanes];
  for (int pair = 0; pair < 2; ++pair) {
    for (int l = 0; l < kLanes; ++l) box_muller(w.w[2 * pair][l], w.w[2 * pair + 1][l], &zc[pair][l], &zs[pair][l]);
  }
  for (int l = 0; l < kLanes; ++l) {
    z[4 * l] = zc[0][l];
    z[4 * l + 1] = zs[0][l];
    z[4 * l + 2] = zc[1][l];
    z[4 * l + 3] = zs[1][l];
  }
}

PR_CLONES void normal_apply(const float* x, float* out, const float* z, int64_t cnt, float sigma, bool speckle) {
  if (speckle) {
    for (int64_t j = 0; j < cnt; ++j) out[j] = normal_noise_value(x[j], z[j], sigma, true);
  } else {
    for (int64_t j = 0; j < cnt; ++j) out[j] = normal_noise_value(x[j], z[j], sigma, false);
  }
}

PR_CLONES void impulse_apply(const float* x, float* out, const Words& w, int64_t cnt, float amount) {
  float u[4 * kLanes];
  for (int l = 0; l < kLanes; ++l) {
    for (int k = 0; k < 4; ++k) u[4 * l + k] = uint_to_unit_float(w.w[k][l]);
  }
  const float half = amount * 0.5f;
  for (int64_t j = 0; j < cnt; ++j) out[j] = u[j] < amount ? (u[j] < half ? 0.f : 1.f) : clip01(x[j]);
}

// Gaussian, speckle and impulse: chunk = kLanes consecutive Philox blocks (4 kLanes elements) of one image.
void block_noise_cpu(const CorruptParams& p) {
  const int64_t n = p.image();
  const int64_t per = 4 * kLanes;
  const int64_t nch = (n + per - 1) / per;
  parallel_for(p.b * nch, 4, [&](int64_t begin, int64_t end) {
    Words w;
    float z[4 * kLanes];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t img = t / nch;
      const int64_t ch = t % nch;
      const int64_t i0 = ch * per;
      const int64_t cnt = std::min(per, n - i0);
      philox_lanes(p.seed, corrupt_stream(p, img), static_cast<uint64_t>(ch * kLanes), 1, w);
      const float* x = p.x + img * n + i0;
      float* out = p.out + img * n + i0;
      if (p.kind == Corruption::ImpulseNoise) {
        impulse_apply(x, out, w, cnt, p.a);
      } else {
        box_muller_lanes(w, z);
        normal_apply(x, out, z, cnt, p.a, p.kind == Corruption::SpeckleNoise);
      }
    }
  });
}

// 1/k for the inversion, k = 0..kInversionMaxK (inv_int: the value every back-end uses).
struct InvTable {
  double v[kInversionMaxK + 1];
  InvTable() {
    v[0] = 0.0;
    for (int k = 1; k <= kInversionMaxK; ++k) v[k] = inv_int(k);
  }
};
const InvTable kInv;

// float64 (0, 1) uniform of unit53, from two int32 conversions (exact: the same value).
PR_HD double unit53_split(uint32_t hi, uint32_t lo) {
  const double m = static_cast<double>(static_cast<int32_t>(hi >> 5)) * 67108864.0 +
                   static_cast<double>(static_cast<int32_t>(lo >> 6));
  return (m + 0.5) * 1.1102230246251565e-16;
}

// Inversion lanes (lam < 10): exp_neg_poly, then poisson_inversion's sequential search in lock step; k[l] = count
// (other lanes: 0).
PR_CLONES void inversion_lanes(const double* lam, const Words& w, double* k) {
  double t[kLanes], u[kLanes], p[kLanes], s[kLanes];
  int64_t act[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    t[l] = (lam[l] < kPoissonInversionMax ? lam[l] : 0.0) * 0.0625;
    p[l] = 1.0;
  }
  for (int j = 18; j >= 1; --j) {  // exp_neg_poly, lanes innermost
    const double ij = kInv.v[j];
    for (int l = 0; l < kLanes; ++l) p[l] = 1.0 - (t[l] * p[l]) * ij;
  }
  int64_t any = 0;
  for (int l = 0; l < kLanes; ++l) {
    double r = p[l];
    r = r * r;
    r = r * r;
    r = r * r;
    r = r * r;
    u[l] = unit53_split(w.w[0][l], w.w[1][l]);
    p[l] = r;
    s[l] = r;
    k[l] = 0.0;
    const int64_t a = (lam[l] < kPoissonInversionMax) & (u[l] > r);
    act[l] = a;
    any |= a;
  }
  for (int j = 1; j <= kInversionMaxK && any; ++j) {
    const double ij = kInv.v[j];
    const double jd = static_cast<double>(j);
    any = 0;
    for (int l = 0; l < kLanes; ++l) {
      const int64_t a = act[l];
      const double pn = p[l] * (lam[l] * ij);
      const double sn = s[l] + pn;
      p[l] = a ? pn : p[l];
      s[l] = a ? sn : s[l];
      k[l] = a ? jd : k[l];
      const int64_t na = a & (u[l] > sn);
      act[l] = na;
      any |= na;
    }
  }
}

// Shot noise on one chunk of `cnt` <= kLanes elements: counts k[l] and a flag ok[l] (0: lane needs the full
// scalar poisson_draw from attempt 1, i.e. a PTRS lane whose attempt 0 was rejected).
PR_CLONES void poisson_lanes(const float* x, float photons, const Words& w, int64_t cnt, double* kout,
                                  int64_t* ok) {
  double lam[kLanes], k[kLanes];
  const double ph = static_cast<double>(photons);
  int64_t n_inv = 0;  // tail lanes (l >= cnt) count as PTRS lanes; their results are not used
  for (int l = 0; l < kLanes; ++l) {
    lam[l] = l < cnt ? static_cast<double>(x[l]) * ph : kPoissonInversionMax;
    n_inv += lam[l] < kPoissonInversionMax;
  }
  for (int l = 0; l < kLanes; ++l) k[l] = 0.0;
  if (n_inv > 0) inversion_lanes(lam, w, k);
  if (n_inv == kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      kout[l] = k[l];
      ok[l] = 1;
    }
    return;
  }

  // PTRS lanes (lam >= 10): attempt 0 (block elem * 64) as ptrs_const + ptrs_attempt, branch-free
  for (int l = 0; l < kLanes; ++l) {
    const bool inv = lam[l] < kPoissonInversionMax;
    const double la = inv ? kPoissonInversionMax : lam[l];
    const double slam = sqrt(la);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    const double loglam = fm_log_d(la);
    const double uu = unit53_split(w.w[0][l], w.w[1][l]) - 0.5;
    const double v = unit53_split(w.w[2][l], w.w[3][l]);
    const double us = 0.5 - fabs(uu);
    const double kk = floor((2.0 * a / us + b) * uu + la + 0.43);
    const int64_t fast = (us >= 0.07) & (v <= vr);
    const int64_t rej = (kk < 0.0) | ((us < 0.013) & (v > us));
    const double lhs = fm_log_d(v * invalpha / (a / (us * us) + b));
    // fm_log_factorial(kk), both branches evaluated: exact k! (k <= 17) or Stirling at z = k + 1
    const double kc = kk < 0.0 ? 0.0 : kk;
    const bool small = kc <= 17.0;
    const double z = kc + 1.0;
    double fk = 1.0;  // fm_factorial_small(kc), branch-free (exact: factors above kc are 1)
    for (int j = 2; j <= 17; ++j) fk = fk * (static_cast<double>(j) <= kc ? static_cast<double>(j) : 1.0);
    const double lg = fm_log_d(small ? fk : z);
    const double logfact = small ? lg : fm_stirling_tail(z, lg);
    const double rhs = (kk * loglam - la) - logfact;
    const int64_t acc = fast | ((rej ^ 1) & (lhs <= rhs));
    kout[l] = inv ? k[l] : kk;
    ok[l] = inv ? 1 : acc;
  }
}

PR_CLONES void shot_apply(const double* k, float* out, int64_t cnt, float photons) {
  for (int64_t j = 0; j < cnt; ++j) out[j] = clip01(static_cast<float>(k[j]) / photons);
}

// Shot noise: chunk = kLanes consecutive elements of one image (element i owns blocks i * 64 + j). 8-bit elements
// (poisson_table.h) are drawn from the tables, the others by poisson_lanes (+ the scalar PTRS fallback).
void shot_noise_cpu(const CorruptParams& p) {
  const int64_t n = p.image();
  const int64_t nch = (n + kLanes - 1) / kLanes;
  std::shared_ptr<const PoissonTables> tables;
  if (p.a <= kTableMaxPhotons) tables = cached_poisson_tables(p.a);
  const PoissonTableView tv = tables ? tables->view() : PoissonTableView{nullptr, nullptr, nullptr, nullptr};
  parallel_for(p.b * nch, 16, [&](int64_t begin, int64_t end) {
    Words w;
    double k[kLanes];
    int64_t ok[kLanes];
    int key[kLanes];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t img = t / nch;
      const int64_t ch = t % nch;
      const int64_t i0 = ch * kLanes;
      const int64_t cnt = std::min<int64_t>(kLanes, n - i0);
      const uint64_t stream = corrupt_stream(p, img);
      philox_lanes(p.seed, stream, static_cast<uint64_t>(i0) * kPoissonBlocks, kPoissonBlocks, w);
      const float* x = p.x + img * n + i0;
      int64_t n_tab = 0;
      for (int64_t l = 0; l < cnt; ++l) {
        key[l] = tables ? shot_table_key(x[l]) : -1;
        n_tab += key[l] >= 0;
      }
      if (n_tab < cnt) {
        poisson_lanes(x, p.a, w, cnt, k, ok);
        for (int64_t l = 0; l < cnt; ++l) {
          if (!ok[l] && key[l] < 0) {
            k[l] = poisson_draw(static_cast<double>(x[l]) * static_cast<double>(p.a), p.seed, stream,
                                static_cast<uint64_t>(i0 + l), 1);  // attempt 0 rejected in the lanes
          }
        }
      }
      if (n_tab > 0) {
        for (int64_t l = 0; l < cnt; ++l) {
          if (key[l] >= 0) k[l] = poisson_table_sample(tv, key[l], unit53_split(w.w[0][l], w.w[1][l]));
        }
      }
      shot_apply(k, p.out + img * n + i0, cnt, p.a);
    }
  });
}

}  // namespace

std::shared_ptr<const PoissonTables> cached_poisson_tables(float photons) {
  static std::mutex mu;
  static std::shared_ptr<const PoissonTables> last;
  static float last_photons = -1.f;
  std::lock_guard<std::mutex> lock(mu);
  if (!last || last_photons != photons) {
    last = std::make_shared<const PoissonTables>(poisson_tables(photons));
    last_photons = photons;
  }
  return last;
}

// CpuPath::Device: corrupt_cuda.cu's launches, thread bodies block_noise_thread / shot_thread (corrupt.h).
static void noise_device_path(const CorruptParams& p) {
  if (p.kind != Corruption::ShotNoise) {
    const int64_t nblk = (p.image() + 3) / 4;
    host_launch(p.b * nblk, [&](int64_t t) { block_noise_thread(p, nblk, t); });
    return;
  }
  std::shared_ptr<const PoissonTables> tables;
  if (p.a <= kTableMaxPhotons) tables = cached_poisson_tables(p.a);
  const PoissonTableView tv = tables ? tables->view() : PoissonTableView{nullptr, nullptr, nullptr, nullptr};
  host_launch(p.b * p.image(), [&](int64_t t) { shot_thread(p, tv, t); });
}

void corrupt_noise_cpu(const CorruptParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  if (device_path()) return noise_device_path(p);
  if (p.kind == Corruption::ShotNoise) {
    shot_noise_cpu(p);
  } else {
    block_noise_cpu(p);
  }
}

}  // namespace pyrepair
