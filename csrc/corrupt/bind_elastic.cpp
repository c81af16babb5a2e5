// Bindings of elastic_transform: numpy views (CPU) or raw device pointers (CUDA) -> ElasticParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/elastic.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;

ElasticParams make_elastic(const std::vector<long long>& shape, float alpha, float sigma, float affine, uint64_t seed,
                           uint64_t index_offset, int severity, const char* fn) {
  check_image_batch(shape, fn);
  check_severity(severity, fn);
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

void register_elastic(py::module_& m) {
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
