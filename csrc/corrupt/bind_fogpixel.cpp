// Bindings of the spatial corruptions (fog, pixelate): numpy views (CPU) or raw device pointers (CUDA) ->
// FogPixelParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/fogpixel.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;

FogPixelParams make_fogpixel(const std::vector<long long>& shape, int corruption, float a, float b, long long n1,
                             long long n2, uint64_t seed, uint64_t index_offset, int severity, const char* fn) {
  check_image_batch(shape, fn);
  check_severity(severity, fn);
  FogPixelParams p{};
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
  if (corruption == static_cast<int>(FogPixelKind::Fog)) {
    p.kind = FogPixelKind::Fog;
    PR_CHECK(n1 >= 2 && (n1 & (n1 - 1)) == 0 && n1 >= p.h && n1 >= p.w && n1 <= 65536, fn,
             "fog map size must be a power of two >= 2 and >= max(H, W), got ", n1);
    PR_CHECK(b > 0.f, fn, "fog wibbledecay must be > 0, got ", b);
    PR_CHECK(a >= 0.f, fn, "fog strength must be >= 0, got ", a);
  } else if (corruption == static_cast<int>(FogPixelKind::Pixelate)) {
    p.kind = FogPixelKind::Pixelate;
    PR_CHECK(n1 >= 1 && n1 <= p.h && n2 >= 1 && n2 <= p.w, fn,
             "pixelate sizes must satisfy 1 <= (n1, n2) <= (H, W), got (", n1, ", ", n2, ")");
  } else {
    fail(fn, "corruption must be one of 10 (fog), 14 (pixelate), got ", corruption);
  }
  return p;
}

void fogpixel_cpu_py(const f32_array& x, f32_array& out, int corruption, float a, float b, long long n1,
                     long long n2, uint64_t seed, uint64_t index_offset, int severity) {
  const char* fn = "corrupt_fogpixel_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (x.size() == 0) return;
  FogPixelParams p = make_fogpixel(xs, corruption, a, b, n1, n2, seed, index_offset, severity, fn);
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  py::gil_scoped_release nogil;  // only raw pointers and numbers from here on
  fogpixel_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void fogpixel_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, int corruption,
                      float a, float b, long long n1, long long n2, uint64_t seed, uint64_t index_offset,
                      int severity, uintptr_t stream, int device) {
  const char* fn = "corrupt_fogpixel_cuda";
  PR_CHECK(shape.size() == 4, fn, "images must have shape [B, C, H, W], got ", shape_str(shape));
  if (shape[0] * shape[1] * shape[2] * shape[3] == 0) return;
  FogPixelParams p = make_fogpixel(shape, corruption, a, b, n1, n2, seed, index_offset, severity, fn);
  PR_CHECK(x_ptr != 0 && out_ptr != 0, fn, "x_ptr and out_ptr must not be null");
  PR_CHECK(x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  py::gil_scoped_release nogil;
  fogpixel_cuda(p, stream, device);
}
#endif

}  // namespace

void register_fogpixel(py::module_& m) {
  m.def("corrupt_fogpixel_cpu", &fogpixel_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("n1"), py::arg("n2"), py::arg("seed"),
        py::arg("index_offset"), py::arg("severity"),
        "Spatial corruption `corruption` (10 fog: a = strength, b = wibbledecay, n1 = plasma map size; 14 pixelate: "
        "(n1, n2) = down-sampled (height, width)) of (B, C, H, W) float32 x into out.");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_fogpixel_cuda", &fogpixel_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("corruption"), py::arg("a"), py::arg("b"), py::arg("n1"), py::arg("n2"), py::arg("seed"),
        py::arg("index_offset"), py::arg("severity"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt_fogpixel_cpu: raw device pointers, (B, C, H, W), the torch stream handle, "
        "device index.");
#endif
}

}  // namespace pyrepair
