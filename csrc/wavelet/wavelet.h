// Kernel family `wavelet` (spec/deeprepair.md §D): orthonormal 2-D Haar analysis / synthesis (§D.1), per-group
// channel moments (mean, covariance), eigendecomposition of small symmetric matrices (cyclic Jacobi) and the
// affine whitening-colouring apply pass of the WCT (§D.3, §D.5, §D.6).
//
// Layouts (all contiguous, row-major):
//   images  x    (B, C, H, W)    float32, any H, W >= 1
//   low     LL   (B, C, h, w)    float32, h = ceil(H / 2), w = ceil(W / 2)
//   high         (B, C, 3, h, w) float32, orientations (LH, HL, HH) of §D.1
//   groups  x    (G, C, N)       float32: G independent (image, band) groups of C channels over N positions
//   mean (G, C), cov (G, C, C), eigen values (G, C) / vectors (G, C, C) in float64.
//   spectra      (N, C, K, 2)    float32: N images, C channels, K frequencies, interleaved (re, im)
//   per-frequency matrices (C, C, K, 2): float64 cross-spectra, float32 filters (the spectral WCT).
//
// Odd sizes: analysis pads the last row / column by replication (so a constant image has zero detail), synthesis
// writes only the first H x W pixels; synthesis(analysis(x)) == x exactly in real arithmetic.
//
// Determinism: every output element is a pure function of its inputs with a fixed summation order (one group is
// reduced sequentially by one thread), so results do not depend on the thread count.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

constexpr int kWaveletMaxEigC = 16;  // largest matrix the in-kernel Jacobi handles (Python uses eigh above)

struct HaarParams {
  const float* x;     // analysis input / synthesis output image (B, C, H, W)
  float* out;         // synthesis output (B, C, H, W); unused by analysis
  const float* lo_in; // synthesis input LL (B, C, h, w)
  const float* hi_in; // synthesis input details (B, C, 3, h, w)
  float* lo;          // analysis output LL
  float* hi;          // analysis output details
  int64_t b, c, h, w; // image size (H, W)
  int64_t hh, hw;     // band size (h, w) = (ceil(H/2), ceil(W/2))
  PR_HD int64_t planes() const { return b * c; }
  PR_HD int64_t band() const { return hh * hw; }
};

// One 2x2 block [[a, b], [c, d]] of plane `pl` at band position (i, j) -> LL, LH, HL, HH (§D.1).
PR_HD void haar_analysis_block(const HaarParams& p, int64_t pl, int64_t i, int64_t j) {
  const float* src = p.x + pl * p.h * p.w;
  const int64_t r0 = 2 * i, c0 = 2 * j;
  const int64_t r1 = r0 + 1 < p.h ? r0 + 1 : p.h - 1;  // replicate padding for odd sizes
  const int64_t c1 = c0 + 1 < p.w ? c0 + 1 : p.w - 1;
  const float a = src[r0 * p.w + c0], b = src[r0 * p.w + c1];
  const float c = src[r1 * p.w + c0], d = src[r1 * p.w + c1];
  const int64_t k = i * p.hw + j;
  const int64_t bs = p.band();
  p.lo[pl * bs + k] = 0.5f * ((a + b) + (c + d));
  float* hi = p.hi + pl * 3 * bs;
  hi[k] = 0.5f * ((b - a) + (d - c));           // LH: right minus left (vertical edges)
  hi[bs + k] = 0.5f * ((c - a) + (d - b));      // HL: bottom minus top (horizontal edges)
  hi[2 * bs + k] = 0.5f * ((a - b) + (d - c));  // HH
}

// Inverse of haar_analysis_block; pixels outside (H, W) (the padding) are not written.
PR_HD void haar_synthesis_block(const HaarParams& p, int64_t pl, int64_t i, int64_t j) {
  const int64_t k = i * p.hw + j;
  const int64_t bs = p.band();
  const float ll = p.lo_in[pl * bs + k];
  const float* hi = p.hi_in + pl * 3 * bs;
  const float lh = hi[k], hl = hi[bs + k], hh = hi[2 * bs + k];
  float* dst = p.out + pl * p.h * p.w;
  const int64_t r0 = 2 * i, c0 = 2 * j;
  dst[r0 * p.w + c0] = 0.5f * ((ll - lh) + (hh - hl));
  if (c0 + 1 < p.w) dst[r0 * p.w + c0 + 1] = 0.5f * ((ll + lh) - (hl + hh));
  if (r0 + 1 < p.h) {
    dst[(r0 + 1) * p.w + c0] = 0.5f * ((ll - lh) + (hl - hh));
    if (c0 + 1 < p.w) dst[(r0 + 1) * p.w + c0 + 1] = 0.5f * ((ll + lh) + (hl + hh));
  }
}

struct MomentParams {
  const float* x;  // (G, C, N)
  double* mean;    // (G, C)
  double* cov;     // (G, C, C): centred outer products / (N - 1) (no division when N == 1; zeros when N == 0)
  int64_t g, c, n;
};

// Two passes over group `gi` (mean, then centred products): better conditioned than raw second moments. Sums run
// over four interleaved float64 partial sums combined in a fixed order (instruction-level parallelism without
// depending on the thread count or the compiler's reassociation).
PR_HD double dot4(const float* a, double ma, const float* b, double mb, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += (static_cast<double>(a[k]) - ma) * (static_cast<double>(b[k]) - mb);
    s1 += (static_cast<double>(a[k + 1]) - ma) * (static_cast<double>(b[k + 1]) - mb);
    s2 += (static_cast<double>(a[k + 2]) - ma) * (static_cast<double>(b[k + 2]) - mb);
    s3 += (static_cast<double>(a[k + 3]) - ma) * (static_cast<double>(b[k + 3]) - mb);
  }
  for (; k < n; ++k) s0 += (static_cast<double>(a[k]) - ma) * (static_cast<double>(b[k]) - mb);
  return (s0 + s1) + (s2 + s3);
}

PR_HD void moments_group(const MomentParams& p, int64_t gi) {
  const float* x = p.x + gi * p.c * p.n;
  double* mu = p.mean + gi * p.c;
  double* cov = p.cov + gi * p.c * p.c;
  for (int64_t i = 0; i < p.c; ++i) {
    const float* xi = x + i * p.n;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t k = 0;
    for (; k + 4 <= p.n; k += 4) {
      s0 += static_cast<double>(xi[k]);
      s1 += static_cast<double>(xi[k + 1]);
      s2 += static_cast<double>(xi[k + 2]);
      s3 += static_cast<double>(xi[k + 3]);
    }
    for (; k < p.n; ++k) s0 += static_cast<double>(xi[k]);
    mu[i] = p.n > 0 ? ((s0 + s1) + (s2 + s3)) / static_cast<double>(p.n) : 0.0;
  }
  const double denom = p.n > 1 ? static_cast<double>(p.n - 1) : 1.0;
  for (int64_t i = 0; i < p.c; ++i) {
    for (int64_t j = i; j < p.c; ++j) {
      const double s = dot4(x + i * p.n, mu[i], x + j * p.n, mu[j], p.n) / denom;
      cov[i * p.c + j] = s;
      cov[j * p.c + i] = s;
    }
  }
}

struct EigParams {
  const double* a;  // (G, C, C) symmetric
  double* evals;    // (G, C) ascending
  double* evecs;    // (G, C, C): column k is the eigenvector of evals[k] (as torch.linalg.eigh)
  int64_t g, c;     // c <= kWaveletMaxEigC
};

// One Jacobi rotation of the pair (a[i], a[k]) with sine s and tau = s / (1 + cos).
PR_HD void jacobi_rotate(double& x, double& y, double s, double tau) {
  const double g = x, h = y;
  x = g - s * (h + g * tau);
  y = h + s * (g - h * tau);
}

// Cyclic Jacobi on a copy of matrix `gi`, upper triangle only (Golub & Van Loan, Matrix Computations, §8.5; the
// threshold strategy of Rutishauser's `jacobi`): rotations zero one off-diagonal pair at a time; the first three
// sweeps skip pairs below 0.2 x the mean off-diagonal magnitude, later sweeps flush pairs that no longer change
// the diagonal. Stops when the off-diagonal mass is below 1e-24 of the total (~1e-12 relative eigenvalue error).
PR_HD void jacobi_eigh_group(const EigParams& p, int64_t gi) {
  const int n = static_cast<int>(p.c);
  double a[kWaveletMaxEigC * kWaveletMaxEigC];
  double v[kWaveletMaxEigC * kWaveletMaxEigC];
  const double* src = p.a + gi * n * n;
  double total = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      a[i * n + j] = 0.5 * (src[i * n + j] + src[j * n + i]);  // symmetrise (round-off in the input)
      v[i * n + j] = i == j ? 1.0 : 0.0;
      total += a[i * n + j] * a[i * n + j];
    }
  for (int sweep = 0; sweep < 64; ++sweep) {
    double off = 0.0, off_abs = 0.0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        off += a[i * n + j] * a[i * n + j];
        off_abs += fabs(a[i * n + j]);
      }
    if (!(off > 0.5e-24 * total)) break;  // (off counts each pair once, total twice); also stops on NaN
    const double tresh = sweep < 3 ? 0.2 * off_abs / static_cast<double>(n * n) : 0.0;
    for (int q0 = 0; q0 < n - 1; ++q0) {
      for (int q1 = q0 + 1; q1 < n; ++q1) {
        double& apq = a[q0 * n + q1];
        const double g = 100.0 * fabs(apq);
        double& app = a[q0 * n + q0];
        double& aqq = a[q1 * n + q1];
        if (sweep > 3 && fabs(app) + g == fabs(app) && fabs(aqq) + g == fabs(aqq)) {
          apq = 0.0;
          continue;
        }
        if (!(fabs(apq) > tresh)) continue;
        const double hd = aqq - app;
        double t;
        if (fabs(hd) + g == fabs(hd)) {
          t = apq / hd;
        } else {
          const double theta = 0.5 * hd / apq;
          t = 1.0 / (fabs(theta) + sqrt(1.0 + theta * theta));
          if (theta < 0.0) t = -t;
        }
        const double cs = 1.0 / sqrt(1.0 + t * t);
        const double sn = t * cs;
        const double tau = sn / (1.0 + cs);
        const double h = t * apq;
        app -= h;
        aqq += h;
        apq = 0.0;
        for (int j = 0; j < q0; ++j) jacobi_rotate(a[j * n + q0], a[j * n + q1], sn, tau);
        for (int j = q0 + 1; j < q1; ++j) jacobi_rotate(a[q0 * n + j], a[j * n + q1], sn, tau);
        for (int j = q1 + 1; j < n; ++j) jacobi_rotate(a[q0 * n + j], a[q1 * n + j], sn, tau);
        for (int j = 0; j < n; ++j) jacobi_rotate(v[j * n + q0], v[j * n + q1], sn, tau);
      }
    }
  }
  double* e = p.evals + gi * n;
  double* out = p.evecs + gi * n * n;
  int order[kWaveletMaxEigC];
  for (int i = 0; i < n; ++i) order[i] = i;
  for (int i = 1; i < n; ++i) {  // insertion sort by eigenvalue, ascending (stable)
    const int o = order[i];
    int j = i - 1;
    while (j >= 0 && a[order[j] * n + order[j]] > a[o * n + o]) {
      order[j + 1] = order[j];
      --j;
    }
    order[j + 1] = o;
  }
  for (int k = 0; k < n; ++k) {
    e[k] = a[order[k] * n + order[k]];
    for (int i = 0; i < n; ++i) out[i * n + k] = v[i * n + order[k]];
  }
}

struct WctApplyParams {
  const float* x;      // (G, C, N)
  const float* mat;    // (G, C, C)
  const float* center; // (G, C): subtracted from x before the matrix (keeps float32 cancellation small)
  const float* bias;   // (G, C)
  const float* noise;  // (G, C, N) or nullptr
  const float* nmat;   // (G, C, C) or nullptr (set together with noise)
  float* out;          // (G, C, N); must not alias x
  int64_t g, c, n;
};

// One output element: out[c, k] = bias[c] + sum_j mat[c, j] (x[j, k] - center[j])
//                                  (+ sum_j nmat[c, j] noise[j, k]).
PR_HD float wct_apply_element(const WctApplyParams& p, int64_t gi, int64_t ci, int64_t k) {
  const float* x = p.x + gi * p.c * p.n;
  const float* m = p.mat + (gi * p.c + ci) * p.c;
  const float* ctr = p.center + gi * p.c;
  float s = p.bias[gi * p.c + ci];
  for (int64_t j = 0; j < p.c; ++j) s += m[j] * (x[j * p.n + k] - ctr[j]);
  if (p.noise != nullptr) {
    const float* z = p.noise + gi * p.c * p.n;
    const float* nm = p.nmat + (gi * p.c + ci) * p.c;
    for (int64_t j = 0; j < p.c; ++j) s += nm[j] * z[j * p.n + k];
  }
  return s;
}

// Spectral WCT (style_transfer(mode="spectral")): pooled cross-spectra and the per-frequency filter.
struct SpectralCrossParams {
  const float* x;  // spectra (N, C, K, 2)
  const double* w; // (N,) image weights or nullptr (all 1)
  double* out;     // (C, C, K, 2): sum_i w_i x[i, a, q] conj(x[i, b, q])
  int64_t n, c, k;
};

// One cross-spectrum element (a, b, q), summed over images in ascending order (same order on CPU and CUDA).
PR_HD void spectral_cross_element(const SpectralCrossParams& p, int64_t a, int64_t b, int64_t q) {
  double re = 0.0, im = 0.0;
  for (int64_t i = 0; i < p.n; ++i) {
    const float* xa = p.x + ((i * p.c + a) * p.k + q) * 2;
    const float* xb = p.x + ((i * p.c + b) * p.k + q) * 2;
    const double wi = p.w != nullptr ? p.w[i] : 1.0;
    const double ar = xa[0], ai = xa[1], br = xb[0], bi = xb[1];
    re += wi * (ar * br + ai * bi);
    im += wi * (ai * br - ar * bi);
  }
  double* o = p.out + ((a * p.c + b) * p.k + q) * 2;
  o[0] = re;
  o[1] = im;
}

struct SpectralApplyParams {
  const float* x;      // spectra (N, C, K, 2)
  const float* mat;    // (C, C, K, 2) complex filter per frequency
  const float* noise;  // (N, C, K, 2) or nullptr
  const float* nscale; // (K,) real weight of noise per frequency (set together with noise)
  float* out;          // (N, C, K, 2); must not alias x
  int64_t n, c, k;
};

// One output element: out[i, a, q] = sum_b mat[a, b, q] x[i, b, q] (+ nscale[q] noise[i, a, q]), b ascending.
PR_HD void spectral_apply_element(const SpectralApplyParams& p, int64_t i, int64_t a, int64_t q) {
  float re = 0.0f, im = 0.0f;
  for (int64_t b = 0; b < p.c; ++b) {
    const float* m = p.mat + ((a * p.c + b) * p.k + q) * 2;
    const float* x = p.x + ((i * p.c + b) * p.k + q) * 2;
    re += m[0] * x[0] - m[1] * x[1];
    im += m[0] * x[1] + m[1] * x[0];
  }
  const int64_t o = ((i * p.c + a) * p.k + q) * 2;
  if (p.noise != nullptr) {
    re += p.nscale[q] * p.noise[o];
    im += p.nscale[q] * p.noise[o + 1];
  }
  p.out[o] = re;
  p.out[o + 1] = im;
}

// ---- thread bodies of wavelet_cuda.cu's apply kernels (also the CpuPath::Device route of wavelet_cpu.cpp) ----

// WCT apply: thread t = element k of channel ci of group gi, t = (gi C + ci) N + k.
PR_HD void wct_apply_thread(const WctApplyParams& p, int64_t t) {
  const int64_t k = t % p.n;
  const int64_t ci = (t / p.n) % p.c;
  const int64_t gi = t / (p.n * p.c);
  p.out[t] = wct_apply_element(p, gi, ci, k);
}

// Cross-spectra: thread t = element (a, b, q), t = (a C + b) K + q.
PR_HD void spectral_cross_thread(const SpectralCrossParams& p, int64_t t) {
  const int64_t q = t % p.k, ab = t / p.k;
  spectral_cross_element(p, ab / p.c, ab % p.c, q);
}

// Spectral apply: thread t = element (i, a, q), t = (i C + a) K + q.
PR_HD void spectral_apply_thread(const SpectralApplyParams& p, int64_t t) {
  const int64_t q = t % p.k, row = t / p.k;
  spectral_apply_element(p, row / p.c, row % p.c, q);
}

void haar_dwt_cpu(const HaarParams& p);
void haar_idwt_cpu(const HaarParams& p);
void wavelet_moments_cpu(const MomentParams& p);
void wavelet_eigh_cpu(const EigParams& p);
void wct_apply_cpu(const WctApplyParams& p);
void spectral_cross_cpu(const SpectralCrossParams& p);
void spectral_apply_cpu(const SpectralApplyParams& p);

#if PYREPAIR_WITH_CUDA
void haar_dwt_cuda(const HaarParams& p, uintptr_t stream, int device);
void haar_idwt_cuda(const HaarParams& p, uintptr_t stream, int device);
void wavelet_moments_cuda(const MomentParams& p, uintptr_t stream, int device);
void wavelet_eigh_cuda(const EigParams& p, uintptr_t stream, int device);
void wct_apply_cuda(const WctApplyParams& p, uintptr_t stream, int device);
void spectral_cross_cuda(const SpectralCrossParams& p, uintptr_t stream, int device);
void spectral_apply_cuda(const SpectralApplyParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
