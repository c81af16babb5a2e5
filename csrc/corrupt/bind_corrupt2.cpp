// Bindings of the spatial corruptions (fog, pixelate): numpy views (CPU) or raw device pointers (CUDA) ->
// Corrupt2Params.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/corrupt2.h"
#include "corrupt/elastic.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;

// Checks shared by every entry point: (B, C, H, W) with C in {1, 3}, severity usable as an RNG key part.
void check_images(const std::vector<long long>& shape, int severity, const char* fn) {
  PR_CHECK(shape.size() == 4, fn, "images must have shape [B, C, H, W], got ", shape_str(shape));
  for (long long s : shape) PR_CHECK(s >= 0, fn, "images must have non-negative sizes, got ", shape_str(shape));
  PR_CHECK(shape[1] == 1 || shape[1] == 3, fn, "images must have 1 or 3 channels, got shape ", shape_str(shape));
  PR_CHECK(severity >= 0 && severity <= 7, fn, "severity must be in [0, 7] (RNG key), got ", severity);
}

Corrupt2Params make_params2(const std::vector<long long>& shape, int corruption, float a, float b, long long n1,
                            long long n2, uint64_t seed, uint64_t index_offset, int severity, const char* fn) {
  check_images(shape, severity, fn);
  Corrupt2Params p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.a = a;
  p.b2 = b;
  p.n1 = n1;
  p.n2 = n2;
  p.seed = seed;
  p.index_offset = index_offset;
  p.severity = severity;
  if (corruption == static_cast<int>(Corruption2::Fog)) {
    p.kind = Corruption2::Fog;
    PR_CHECK(n1 >= 2 && (n1 & (n1 - 1)) == 0 && n1 >= p.h && n1 >= p.w && n1 <= 65536, fn,
             "fog map size must be a power of two >= 2 and >= max(H, W), got ", n1);
    PR_CHECK(b > 0.f, fn, "fog wibbledecay must be > 0, got ", b);
    PR_CHECK(a >= 0.f, fn, "fog strength must be >= 0, got ", a);
  } else if (corruption == static_cast<int>(Corruption2::Pixelate)) {
    p.kind = Corruption2::Pixelate;
    PR_CHECK(n1 >= 1 && n1 <= p.h && n2 >= 1 && n2 <= p.w, fn,
             "pixelate sizes must satisfy 1 <= (n1, n2) <= (H, W), got (", n1, ", ", n2, ")");
  } else {
    fail(fn, "corruption must be one of 10 (fog), 14 (pixelate), got ", corruption);
  }
  return p;
}

void corrupt2_cpu_py(const f32_array& x, f32_array& out, int corruption, float a, float b, long long n1,
                     long long n2, uint64_t seed, uint64_t index_offset, int severity) {
  const char* fn = "corrupt2_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (x.size() == 0) return;
  Corrupt2Params p = make_params2(xs, corruption, a, b, n1, n2, seed, index_offset, severity, fn);
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  py::gil_scoped_release nogil;  // only raw pointers and numbers from here on
  corrupt2_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void corrupt2_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, int corruption,
                      float a, float b, long long n1, long long n2, uint64_t seed, uint64_t index_offset,
                      int severity, uintptr_t stream, int device) {
  const char* fn = "corrupt2_cuda";
  PR_CHECK(shape.size() == 4, fn, "images must have shape [B, C, H, W], got ", shape_str(shape));
  if (shape[0] * shape[1] * shape[2] * shape[3] == 0) return;
  Corrupt2Params p = make_params2(shape, corruption, a, b, n1, n2, seed, index_offset, severity, fn);
  PR_CHECK(x_ptr != 0 && out_ptr != 0, fn, "x_ptr and out_ptr must not be null");
  PR_CHECK(x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  py::gil_scoped_release nogil;
  corrupt2_cuda(p, stream, device);
}
#endif

ElasticParams make_elastic(const std::vector<long long>& shape, float alpha, float sigma, float affine, uint64_t seed,
                           uint64_t index_offset, int severity, const char* fn) {
  check_images(shape, severity, fn);
  PR_CHECK(sigma >= 0.f && sigma <= 1e4f, fn, "sigma must be in [0, 1e4], got ", sigma);
  ElasticParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.alpha = alpha;
  p.sigma = sigma;
  p.affine = affine;
  p.seed = seed;
  p.index_offset = index_offset;
  p.severity = severity;
  return p;
}

void elastic_cpu_py(const f32_array& x, f32_array& out, float alpha, float sigma, float affine, uint64_t seed,
                    uint64_t index_offset, int severity) {
  const char* fn = "corrupt_elastic_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  ElasticParams p = make_elastic(xs, alpha, sigma, affine, seed, index_offset, severity, fn);
  if (x.size() == 0) return;
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  py::gil_scoped_release nogil;
  elastic_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void elastic_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, float alpha,
                     float sigma, float affine, uint64_t seed, uint64_t index_offset, int severity, uintptr_t stream,
                     int device) {
  const char* fn = "corrupt_elastic_cuda";
  ElasticParams p = make_elastic(shape, alpha, sigma, affine, seed, index_offset, severity, fn);
  if (p.b * p.image() == 0) return;
  PR_CHECK(x_ptr != 0 && out_ptr != 0 && x_ptr != out_ptr, fn, "x_ptr and out_ptr must be distinct and non-null");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  py::gil_scoped_release nogil;
  elastic_cuda(p, stream, device);
}
#endif

}  // namespace

void register_corrupt2(py::module_& m) {
  m.def("corrupt2_cpu", &corrupt2_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("n1"), py::arg("n2"), py::arg("seed"),
        py::arg("index_offset"), py::arg("severity"),
        "Spatial corruption `corruption` (10 fog: a = strength, b = wibbledecay, n1 = plasma map size; 14 pixelate: "
        "(n1, n2) = down-sampled (height, width)) of (B, C, H, W) float32 x into out.");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt2_cuda", &corrupt2_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("n1"), py::arg("n2"), py::arg("seed"),
        py::arg("index_offset"), py::arg("severity"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt2_cpu: raw device pointers, (B, C, H, W), the torch stream handle, device index.");
#endif
  m.def("corrupt_elastic_cpu", &elastic_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("alpha"), py::arg("sigma"), py::arg("affine"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"), "elastic_transform (spec §C.2 item 13) of (B, C, H, W) float32 x into out.");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_elastic_cuda", &elastic_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("alpha"), py::arg("sigma"), py::arg("affine"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"), py::arg("stream"), py::arg("device"), "Device twin of corrupt_elastic_cpu.");
#endif
}

}  // namespace pyrepair
