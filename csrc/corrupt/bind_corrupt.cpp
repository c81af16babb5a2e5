// Bindings of the `corrupt` family: numpy views (CPU) or raw device pointers (CUDA) -> CorruptParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"
#include "corrupt/corrupt.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;

Corruption to_kind(int id, const char* fn) {
  switch (id) {
    case static_cast<int>(Corruption::GaussianNoise):
    case static_cast<int>(Corruption::ShotNoise):
    case static_cast<int>(Corruption::ImpulseNoise):
    case static_cast<int>(Corruption::Brightness):
    case static_cast<int>(Corruption::Contrast):
    case static_cast<int>(Corruption::SpeckleNoise):
    case static_cast<int>(Corruption::Saturate):
      return static_cast<Corruption>(id);
    default:
      fail(fn, "corruption must be one of 1 (gaussian_noise), 2 (shot_noise), 3 (impulse_noise), 11 (brightness), "
               "12 (contrast), 16 (speckle_noise), 19 (saturate), got ", id);
  }
}

bool is_noise(Corruption k) {
  return k == Corruption::GaussianNoise || k == Corruption::ShotNoise || k == Corruption::ImpulseNoise ||
         k == Corruption::SpeckleNoise;
}

CorruptParams make_params(const std::vector<long long>& shape, int corruption, float a, float b, uint64_t seed,
                          uint64_t index_offset, int severity, const char* fn) {
  check_image_batch(shape, fn);
  check_severity(severity, fn);
  CorruptParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.kind = to_kind(corruption, fn);
  p.a = a;
  p.b2 = b;
  p.seed = seed;
  p.index_offset = index_offset;
  p.severity = severity;
  if (p.kind == Corruption::ShotNoise) PR_CHECK(a > 0.f, fn, "photons must be > 0, got ", a);
  return p;
}

void corrupt_cpu_py(const f32_array& x, f32_array& out, int corruption, float a, float b, uint64_t seed,
                    uint64_t index_offset, int severity) {
  const char* fn = "corrupt_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  CorruptParams p = make_params(xs, corruption, a, b, seed, index_offset, severity, fn);
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out || x.size() == 0, fn, "out must not alias images");
  py::gil_scoped_release nogil;  // only raw pointers and numbers from here on
  if (is_noise(p.kind)) {
    corrupt_noise_cpu(p);
  } else {
    corrupt_digital_cpu(p);
  }
}

#if PYREPAIR_WITH_CUDA
void corrupt_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, int corruption,
                     float a, float b, uint64_t seed, uint64_t index_offset, int severity, uintptr_t stream,
                     int device) {
  const char* fn = "corrupt_cuda";
  CorruptParams p = make_params(shape, corruption, a, b, seed, index_offset, severity, fn);
  const bool empty = p.b * p.image() == 0;
  PR_CHECK(empty || (x_ptr != 0 && out_ptr != 0), fn, "x_ptr and out_ptr must not be null");
  PR_CHECK(empty || x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  py::gil_scoped_release nogil;
  corrupt_cuda(p, stream, device);
}
#endif

}  // namespace

void register_corrupt(py::module_& m) {
  m.def("corrupt_cpu", &corrupt_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"),
        "Per-pixel corruption `corruption` (spec §C.1 id) of (B, C, H, W) float32 x into out, constants (a, b); "
        "Philox stream of image i: ((index_offset + i) * 32 + corruption) * 8 + severity.");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_cuda", &corrupt_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt_cpu: raw device pointers, (B, C, H, W), the torch stream handle, device index.");
#endif
}

}  // namespace pyrepair
