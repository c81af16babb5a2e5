// Bindings of the wavelet family: numpy views (CPU) or raw device pointers (CUDA) -> Params structs (wavelet.h).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <optional>
#include <vector>

#include "common/check.h"
#include "wavelet/wavelet.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;
using f64_array = py::array_t<double, py::array::c_style>;

template <typename A>
std::vector<long long> shape_of(const A& a) {
  return std::vector<long long>(a.shape(), a.shape() + a.ndim());
}

void check_nonneg(const std::vector<long long>& s, const char* fn, const char* name) {
  for (long long v : s) PR_CHECK(v >= 0, fn, name, " must have non-negative sizes, got ", shape_str(s));
}

// x (B, C, H, W) -> (lo (B, C, h, w), hi (B, C, 3, h, w)) with h = ceil(H/2), w = ceil(W/2).
HaarParams make_haar(const std::vector<long long>& xs, const std::vector<long long>& los,
                     const std::vector<long long>& his, const char* fn) {
  PR_CHECK(xs.size() == 4, fn, "image must have shape [B, C, H, W], got ", shape_str(xs));
  check_nonneg(xs, fn, "image");
  const long long hh = (xs[2] + 1) / 2, hw = (xs[3] + 1) / 2;
  const std::vector<long long> lo_want{xs[0], xs[1], hh, hw};
  const std::vector<long long> hi_want{xs[0], xs[1], 3, hh, hw};
  PR_CHECK(los == lo_want, fn, "low must have shape ", shape_str(lo_want), ", got ", shape_str(los));
  PR_CHECK(his == hi_want, fn, "high must have shape ", shape_str(hi_want), ", got ", shape_str(his));
  HaarParams p{};
  p.b = xs[0];
  p.c = xs[1];
  p.h = xs[2];
  p.w = xs[3];
  p.hh = hh;
  p.hw = hw;
  return p;
}

void haar_dwt_cpu_py(const f32_array& x, f32_array& lo, f32_array& hi) {
  const char* fn = "wavelet_dwt_cpu";
  HaarParams p = make_haar(shape_of(x), shape_of(lo), shape_of(hi), fn);
  PR_CHECK(lo.writeable() && hi.writeable(), fn, "low and high must be writeable");
  if (x.size() == 0) return;
  p.x = x.data();
  p.lo = lo.mutable_data();
  p.hi = hi.mutable_data();
  py::gil_scoped_release nogil;
  haar_dwt_cpu(p);
}

void haar_idwt_cpu_py(const f32_array& lo, const f32_array& hi, f32_array& out) {
  const char* fn = "wavelet_idwt_cpu";
  HaarParams p = make_haar(shape_of(out), shape_of(lo), shape_of(hi), fn);
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (out.size() == 0) return;
  p.lo_in = lo.data();
  p.hi_in = hi.data();
  p.out = out.mutable_data();
  py::gil_scoped_release nogil;
  haar_idwt_cpu(p);
}

MomentParams make_moments(const std::vector<long long>& xs, const std::vector<long long>& ms,
                          const std::vector<long long>& cs, const char* fn) {
  PR_CHECK(xs.size() == 3, fn, "x must have shape [G, C, N], got ", shape_str(xs));
  check_nonneg(xs, fn, "x");
  const std::vector<long long> m_want{xs[0], xs[1]}, c_want{xs[0], xs[1], xs[1]};
  PR_CHECK(ms == m_want, fn, "mean must have shape ", shape_str(m_want), ", got ", shape_str(ms));
  PR_CHECK(cs == c_want, fn, "cov must have shape ", shape_str(c_want), ", got ", shape_str(cs));
  MomentParams p{};
  p.g = xs[0];
  p.c = xs[1];
  p.n = xs[2];
  return p;
}

void moments_cpu_py(const f32_array& x, f64_array& mean, f64_array& cov) {
  const char* fn = "wavelet_moments_cpu";
  MomentParams p = make_moments(shape_of(x), shape_of(mean), shape_of(cov), fn);
  PR_CHECK(mean.writeable() && cov.writeable(), fn, "mean and cov must be writeable");
  if (p.g * p.c == 0) return;
  p.x = x.data();
  p.mean = mean.mutable_data();
  p.cov = cov.mutable_data();
  py::gil_scoped_release nogil;
  wavelet_moments_cpu(p);
}

EigParams make_eig(const std::vector<long long>& as, const std::vector<long long>& es,
                   const std::vector<long long>& vs, const char* fn) {
  PR_CHECK(as.size() == 3 && as[1] == as[2], fn, "a must have shape [G, C, C], got ", shape_str(as));
  check_nonneg(as, fn, "a");
  PR_CHECK(as[1] <= kWaveletMaxEigC, fn, "a must have C <= ", kWaveletMaxEigC, " (Jacobi kernel), got ",
           shape_str(as));
  const std::vector<long long> e_want{as[0], as[1]};
  PR_CHECK(es == e_want, fn, "evals must have shape ", shape_str(e_want), ", got ", shape_str(es));
  PR_CHECK(vs == as, fn, "evecs must have shape ", shape_str(as), ", got ", shape_str(vs));
  EigParams p{};
  p.g = as[0];
  p.c = as[1];
  return p;
}

void eigh_cpu_py(const f64_array& a, f64_array& evals, f64_array& evecs) {
  const char* fn = "wavelet_eigh_cpu";
  EigParams p = make_eig(shape_of(a), shape_of(evals), shape_of(evecs), fn);
  PR_CHECK(evals.writeable() && evecs.writeable(), fn, "evals and evecs must be writeable");
  if (p.g * p.c == 0) return;
  p.a = a.data();
  p.evals = evals.mutable_data();
  p.evecs = evecs.mutable_data();
  py::gil_scoped_release nogil;
  wavelet_eigh_cpu(p);
}

WctApplyParams make_apply(const std::vector<long long>& xs, const std::vector<long long>& ms,
                          const std::vector<long long>& cs, const std::vector<long long>& bs,
                          const std::vector<long long>* ns,
                          const std::vector<long long>* nms, const std::vector<long long>& os, const char* fn) {
  PR_CHECK(xs.size() == 3, fn, "x must have shape [G, C, N], got ", shape_str(xs));
  check_nonneg(xs, fn, "x");
  const std::vector<long long> m_want{xs[0], xs[1], xs[1]}, b_want{xs[0], xs[1]};
  PR_CHECK(ms == m_want, fn, "mat must have shape ", shape_str(m_want), ", got ", shape_str(ms));
  PR_CHECK(cs == b_want, fn, "center must have shape ", shape_str(b_want), ", got ", shape_str(cs));
  PR_CHECK(bs == b_want, fn, "bias must have shape ", shape_str(b_want), ", got ", shape_str(bs));
  PR_CHECK(os == xs, fn, "out must have shape ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK((ns == nullptr) == (nms == nullptr), fn, "noise and noise_mat must be given together");
  if (ns != nullptr) {
    PR_CHECK(*ns == xs, fn, "noise must have shape ", shape_str(xs), ", got ", shape_str(*ns));
    PR_CHECK(*nms == m_want, fn, "noise_mat must have shape ", shape_str(m_want), ", got ", shape_str(*nms));
  }
  WctApplyParams p{};
  p.g = xs[0];
  p.c = xs[1];
  p.n = xs[2];
  return p;
}

void wct_apply_cpu_py(const f32_array& x, const f32_array& mat, const f32_array& center,
                      const f32_array& bias, const std::optional<f32_array>& noise,
                      const std::optional<f32_array>& noise_mat,
                      f32_array& out) {
  const char* fn = "wavelet_wct_apply_cpu";
  std::vector<long long> ns, nms;
  if (noise) ns = shape_of(*noise);
  if (noise_mat) nms = shape_of(*noise_mat);
  WctApplyParams p = make_apply(shape_of(x), shape_of(mat), shape_of(center), shape_of(bias),
                                noise ? &ns : nullptr, noise_mat ? &nms : nullptr, shape_of(out), fn);
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (x.size() == 0) return;
  p.x = x.data();
  p.mat = mat.data();
  p.center = center.data();
  p.bias = bias.data();
  p.noise = noise ? noise->data() : nullptr;
  p.nmat = noise_mat ? noise_mat->data() : nullptr;
  p.out = out.mutable_data();
  PR_CHECK(p.out != p.x, fn, "out must not alias x");
  py::gil_scoped_release nogil;
  wct_apply_cpu(p);
}

// Spectra (N, C, K, 2) float32; cross-spectra / filters (C, C, K, 2).
SpectralCrossParams make_cross(const std::vector<long long>& xs, const std::vector<long long>* ws,
                               const std::vector<long long>& os, const char* fn) {
  PR_CHECK(xs.size() == 4 && xs[3] == 2, fn, "x must have shape [N, C, K, 2], got ", shape_str(xs));
  check_nonneg(xs, fn, "x");
  const std::vector<long long> o_want{xs[1], xs[1], xs[2], 2};
  PR_CHECK(os == o_want, fn, "out must have shape ", shape_str(o_want), ", got ", shape_str(os));
  if (ws != nullptr) {
    const std::vector<long long> w_want{xs[0]};
    PR_CHECK(*ws == w_want, fn, "weights must have shape ", shape_str(w_want), ", got ", shape_str(*ws));
  }
  SpectralCrossParams p{};
  p.n = xs[0];
  p.c = xs[1];
  p.k = xs[2];
  return p;
}

SpectralApplyParams make_spectral_apply(const std::vector<long long>& xs, const std::vector<long long>& ms,
                                        const std::vector<long long>* ns, const std::vector<long long>* ss,
                                        const std::vector<long long>& os, const char* fn) {
  PR_CHECK(xs.size() == 4 && xs[3] == 2, fn, "x must have shape [N, C, K, 2], got ", shape_str(xs));
  check_nonneg(xs, fn, "x");
  const std::vector<long long> m_want{xs[1], xs[1], xs[2], 2};
  PR_CHECK(ms == m_want, fn, "mat must have shape ", shape_str(m_want), ", got ", shape_str(ms));
  PR_CHECK(os == xs, fn, "out must have shape ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK((ns == nullptr) == (ss == nullptr), fn, "noise and noise_scale must be given together");
  if (ns != nullptr) {
    const std::vector<long long> s_want{xs[2]};
    PR_CHECK(*ns == xs, fn, "noise must have shape ", shape_str(xs), ", got ", shape_str(*ns));
    PR_CHECK(*ss == s_want, fn, "noise_scale must have shape ", shape_str(s_want), ", got ", shape_str(*ss));
  }
  SpectralApplyParams p{};
  p.n = xs[0];
  p.c = xs[1];
  p.k = xs[2];
  return p;
}

void spectral_cross_cpu_py(const f32_array& x, const std::optional<f64_array>& weights, f64_array& out) {
  const char* fn = "wavelet_spectral_cross_cpu";
  std::vector<long long> ws;
  if (weights) ws = shape_of(*weights);
  SpectralCrossParams p = make_cross(shape_of(x), weights ? &ws : nullptr, shape_of(out), fn);
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (out.size() == 0) return;
  p.x = x.data();
  p.w = weights ? weights->data() : nullptr;
  p.out = out.mutable_data();
  py::gil_scoped_release nogil;
  spectral_cross_cpu(p);
}

void spectral_apply_cpu_py(const f32_array& x, const f32_array& mat, const std::optional<f32_array>& noise,
                           const std::optional<f32_array>& noise_scale, f32_array& out) {
  const char* fn = "wavelet_spectral_apply_cpu";
  std::vector<long long> ns, ss;
  if (noise) ns = shape_of(*noise);
  if (noise_scale) ss = shape_of(*noise_scale);
  SpectralApplyParams p = make_spectral_apply(shape_of(x), shape_of(mat), noise ? &ns : nullptr,
                                              noise_scale ? &ss : nullptr, shape_of(out), fn);
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (x.size() == 0) return;
  p.x = x.data();
  p.mat = mat.data();
  p.noise = noise ? noise->data() : nullptr;
  p.nscale = noise_scale ? noise_scale->data() : nullptr;
  p.out = out.mutable_data();
  PR_CHECK(p.out != p.x, fn, "out must not alias x");
  py::gil_scoped_release nogil;
  spectral_apply_cpu(p);
}

#if PYREPAIR_WITH_CUDA
const float* fptr(uintptr_t v) { return reinterpret_cast<const float*>(v); }

void haar_dwt_cuda_py(uintptr_t x, uintptr_t lo, uintptr_t hi, const std::vector<long long>& shape, uintptr_t stream,
                      int device) {
  const char* fn = "wavelet_dwt_cuda";
  PR_CHECK(shape.size() == 4, fn, "image must have shape [B, C, H, W], got ", shape_str(shape));
  const long long hh = (shape[2] + 1) / 2, hw = (shape[3] + 1) / 2;
  HaarParams p = make_haar(shape, {shape[0], shape[1], hh, hw}, {shape[0], shape[1], 3, hh, hw}, fn);
  if (p.planes() * p.h * p.w == 0) return;
  PR_CHECK(x && lo && hi, fn, "pointers must not be null");
  p.x = fptr(x);
  p.lo = reinterpret_cast<float*>(lo);
  p.hi = reinterpret_cast<float*>(hi);
  py::gil_scoped_release nogil;
  haar_dwt_cuda(p, stream, device);
}

void haar_idwt_cuda_py(uintptr_t lo, uintptr_t hi, uintptr_t out, const std::vector<long long>& shape,
                       uintptr_t stream, int device) {
  const char* fn = "wavelet_idwt_cuda";
  PR_CHECK(shape.size() == 4, fn, "out must have shape [B, C, H, W], got ", shape_str(shape));
  const long long hh = (shape[2] + 1) / 2, hw = (shape[3] + 1) / 2;
  HaarParams p = make_haar(shape, {shape[0], shape[1], hh, hw}, {shape[0], shape[1], 3, hh, hw}, fn);
  if (p.planes() * p.h * p.w == 0) return;
  PR_CHECK(lo && hi && out, fn, "pointers must not be null");
  p.lo_in = fptr(lo);
  p.hi_in = fptr(hi);
  p.out = reinterpret_cast<float*>(out);
  py::gil_scoped_release nogil;
  haar_idwt_cuda(p, stream, device);
}

void moments_cuda_py(uintptr_t x, uintptr_t mean, uintptr_t cov, const std::vector<long long>& shape,
                     uintptr_t stream, int device) {
  const char* fn = "wavelet_moments_cuda";
  PR_CHECK(shape.size() == 3, fn, "x must have shape [G, C, N], got ", shape_str(shape));
  MomentParams p = make_moments(shape, {shape[0], shape[1]}, {shape[0], shape[1], shape[1]}, fn);
  if (p.g * p.c == 0) return;
  PR_CHECK(x && mean && cov, fn, "pointers must not be null");
  p.x = fptr(x);
  p.mean = reinterpret_cast<double*>(mean);
  p.cov = reinterpret_cast<double*>(cov);
  py::gil_scoped_release nogil;
  wavelet_moments_cuda(p, stream, device);
}

void eigh_cuda_py(uintptr_t a, uintptr_t evals, uintptr_t evecs, const std::vector<long long>& shape,
                  uintptr_t stream, int device) {
  const char* fn = "wavelet_eigh_cuda";
  PR_CHECK(shape.size() == 3, fn, "a must have shape [G, C, C], got ", shape_str(shape));
  EigParams p = make_eig(shape, {shape[0], shape[1]}, shape, fn);
  if (p.g * p.c == 0) return;
  PR_CHECK(a && evals && evecs, fn, "pointers must not be null");
  p.a = reinterpret_cast<const double*>(a);
  p.evals = reinterpret_cast<double*>(evals);
  p.evecs = reinterpret_cast<double*>(evecs);
  py::gil_scoped_release nogil;
  wavelet_eigh_cuda(p, stream, device);
}

void wct_apply_cuda_py(uintptr_t x, uintptr_t mat, uintptr_t center, uintptr_t bias, uintptr_t noise,
                       uintptr_t noise_mat, uintptr_t out, const std::vector<long long>& shape, uintptr_t stream,
                       int device) {
  const char* fn = "wavelet_wct_apply_cuda";
  PR_CHECK(shape.size() == 3, fn, "x must have shape [G, C, N], got ", shape_str(shape));
  const std::vector<long long> m{shape[0], shape[1], shape[1]};
  PR_CHECK((noise == 0) == (noise_mat == 0), fn, "noise and noise_mat must be given together");
  WctApplyParams p = make_apply(shape, m, {shape[0], shape[1]}, {shape[0], shape[1]}, noise ? &shape : nullptr,
                                noise ? &m : nullptr,
                                shape, fn);
  if (p.g * p.c * p.n == 0) return;
  PR_CHECK(x && mat && center && bias && out && out != x, fn, "pointers must be non-null and out must not alias x");
  p.x = fptr(x);
  p.mat = fptr(mat);
  p.center = fptr(center);
  p.bias = fptr(bias);
  p.noise = noise ? fptr(noise) : nullptr;
  p.nmat = noise ? fptr(noise_mat) : nullptr;
  p.out = reinterpret_cast<float*>(out);
  py::gil_scoped_release nogil;
  wct_apply_cuda(p, stream, device);
}

void spectral_cross_cuda_py(uintptr_t x, uintptr_t weights, uintptr_t out, const std::vector<long long>& shape,
                            uintptr_t stream, int device) {
  const char* fn = "wavelet_spectral_cross_cuda";
  PR_CHECK(shape.size() == 4, fn, "x must have shape [N, C, K, 2], got ", shape_str(shape));
  const std::vector<long long> ws{shape[0]};
  SpectralCrossParams p = make_cross(shape, weights ? &ws : nullptr, {shape[1], shape[1], shape[2], 2}, fn);
  if (p.c * p.k == 0) return;
  PR_CHECK(x && out, fn, "pointers must not be null");
  p.x = fptr(x);
  p.w = weights ? reinterpret_cast<const double*>(weights) : nullptr;
  p.out = reinterpret_cast<double*>(out);
  py::gil_scoped_release nogil;
  spectral_cross_cuda(p, stream, device);
}

void spectral_apply_cuda_py(uintptr_t x, uintptr_t mat, uintptr_t noise, uintptr_t noise_scale, uintptr_t out,
                            const std::vector<long long>& shape, uintptr_t stream, int device) {
  const char* fn = "wavelet_spectral_apply_cuda";
  PR_CHECK(shape.size() == 4, fn, "x must have shape [N, C, K, 2], got ", shape_str(shape));
  PR_CHECK((noise == 0) == (noise_scale == 0), fn, "noise and noise_scale must be given together");
  const std::vector<long long> ss{shape[2]};
  SpectralApplyParams p = make_spectral_apply(shape, {shape[1], shape[1], shape[2], 2}, noise ? &shape : nullptr,
                                              noise ? &ss : nullptr, shape, fn);
  if (p.n * p.c * p.k == 0) return;
  PR_CHECK(x && mat && out && out != x, fn, "pointers must be non-null and out must not alias x");
  p.x = fptr(x);
  p.mat = fptr(mat);
  p.noise = noise ? fptr(noise) : nullptr;
  p.nscale = noise ? fptr(noise_scale) : nullptr;
  p.out = reinterpret_cast<float*>(out);
  py::gil_scoped_release nogil;
  spectral_apply_cuda(p, stream, device);
}
#endif

}  // namespace

void register_wavelet(py::module_& m) {
  m.def("wavelet_dwt_cpu", &haar_dwt_cpu_py, py::arg("x").noconvert(), py::arg("low").noconvert(),
        py::arg("high").noconvert(),
        "One level of orthonormal Haar analysis: x (B, C, H, W) float32 -> low (B, C, h, w) and high "
        "(B, C, 3, h, w) (LH, HL, HH), h = ceil(H/2); odd sizes replicate the last row/column.");
  m.def("wavelet_idwt_cpu", &haar_idwt_cpu_py, py::arg("low").noconvert(), py::arg("high").noconvert(),
        py::arg("out").noconvert(),
        "One level of Haar synthesis (exact inverse of wavelet_dwt_cpu): writes out (B, C, H, W), H in {2h-1, 2h}.");
  m.def("wavelet_moments_cpu", &moments_cpu_py, py::arg("x").noconvert(), py::arg("mean").noconvert(),
        py::arg("cov").noconvert(),
        "Per-group channel mean (G, C) and covariance (G, C, C) (float64, divisor N-1) of x (G, C, N) float32.");
  m.def("wavelet_eigh_cpu", &eigh_cpu_py, py::arg("a").noconvert(), py::arg("evals").noconvert(),
        py::arg("evecs").noconvert(),
        "Jacobi eigendecomposition of symmetric (G, C, C) float64 matrices, C <= 16: ascending evals (G, C), "
        "eigenvector columns (G, C, C).");
  m.def("wavelet_wct_apply_cpu", &wct_apply_cpu_py, py::arg("x").noconvert(), py::arg("mat").noconvert(),
        py::arg("center").noconvert(), py::arg("bias").noconvert(), py::arg("noise").noconvert().none(true),
        py::arg("noise_mat").noconvert().none(true), py::arg("out").noconvert(),
        "out = mat @ (x - center) + bias (+ noise_mat @ noise) per group: x, noise, out (G, C, N); "
        "mat, noise_mat (G, C, C); center, bias (G, C); float32.");
  m.def("wavelet_spectral_cross_cpu", &spectral_cross_cpu_py, py::arg("x").noconvert(),
        py::arg("weights").noconvert().none(true), py::arg("out").noconvert(),
        "Cross-spectra out[a, b, q] = sum_i w_i x[i, a, q] conj(x[i, b, q]): x (N, C, K, 2) float32 (re, im), "
        "weights (N,) float64 or None (all 1), out (C, C, K, 2) float64.");
  m.def("wavelet_spectral_apply_cpu", &spectral_apply_cpu_py, py::arg("x").noconvert(), py::arg("mat").noconvert(),
        py::arg("noise").noconvert().none(true), py::arg("noise_scale").noconvert().none(true),
        py::arg("out").noconvert(),
        "Per-frequency complex filter: out[i, a, q] = sum_b mat[a, b, q] x[i, b, q] (+ noise_scale[q] "
        "noise[i, a, q]); x, noise, out (N, C, K, 2), mat (C, C, K, 2), noise_scale (K,); float32.");
#if PYREPAIR_WITH_CUDA
  m.def("wavelet_dwt_cuda", &haar_dwt_cuda_py, py::arg("x_ptr"), py::arg("low_ptr"), py::arg("high_ptr"),
        py::arg("shape"), py::arg("stream"), py::arg("device"), "Device twin of wavelet_dwt_cpu.");
  m.def("wavelet_idwt_cuda", &haar_idwt_cuda_py, py::arg("low_ptr"), py::arg("high_ptr"), py::arg("out_ptr"),
        py::arg("shape"), py::arg("stream"), py::arg("device"), "Device twin of wavelet_idwt_cpu (shape of out).");
  m.def("wavelet_moments_cuda", &moments_cuda_py, py::arg("x_ptr"), py::arg("mean_ptr"), py::arg("cov_ptr"),
        py::arg("shape"), py::arg("stream"), py::arg("device"), "Device twin of wavelet_moments_cpu.");
  m.def("wavelet_eigh_cuda", &eigh_cuda_py, py::arg("a_ptr"), py::arg("evals_ptr"), py::arg("evecs_ptr"),
        py::arg("shape"), py::arg("stream"), py::arg("device"), "Device twin of wavelet_eigh_cpu.");
  m.def("wavelet_wct_apply_cuda", &wct_apply_cuda_py, py::arg("x_ptr"), py::arg("mat_ptr"), py::arg("center_ptr"),
        py::arg("bias_ptr"),
        py::arg("noise_ptr"), py::arg("noise_mat_ptr"), py::arg("out_ptr"), py::arg("shape"), py::arg("stream"),
        py::arg("device"), "Device twin of wavelet_wct_apply_cpu (noise pointers 0 when absent).");
  m.def("wavelet_spectral_cross_cuda", &spectral_cross_cuda_py, py::arg("x_ptr"), py::arg("weights_ptr"),
        py::arg("out_ptr"), py::arg("shape"), py::arg("stream"), py::arg("device"),
        "Device twin of wavelet_spectral_cross_cpu (weights pointer 0 when absent; shape of x).");
  m.def("wavelet_spectral_apply_cuda", &spectral_apply_cuda_py, py::arg("x_ptr"), py::arg("mat_ptr"),
        py::arg("noise_ptr"), py::arg("noise_scale_ptr"), py::arg("out_ptr"), py::arg("shape"), py::arg("stream"),
        py::arg("device"), "Device twin of wavelet_spectral_apply_cpu (noise pointers 0 when absent).");
#endif
}

}  // namespace pyrepair
