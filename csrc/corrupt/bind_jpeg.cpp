// Bindings of jpeg_compression (csrc/corrupt/jpeg.h): numpy views (CPU) or raw device pointers (CUDA) -> JpegParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape argument of the CUDA entry point

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/jpeg.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;

JpegParams make_jpeg_params(const std::vector<long long>& shape, int quality, const char* fn) {
  check_image_batch(shape, fn);
  PR_CHECK(quality >= 1 && quality <= 100, fn, "quality must be in [1, 100], got ", quality);
  JpegParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.quality = quality;
  jpeg_quant_tables(quality, p.qluma, p.qchroma);
  return p;
}

void jpeg_cpu_py(const f32_array& x, f32_array& out, int quality) {
  const char* fn = "corrupt_jpeg_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  JpegParams p = make_jpeg_params(xs, quality, fn);
  if (x.size() == 0) return;
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  py::gil_scoped_release nogil;  // only raw pointers and numbers from here on
  jpeg_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void jpeg_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, int quality,
                  uintptr_t stream, int device) {
  const char* fn = "corrupt_jpeg_cuda";
  JpegParams p = make_jpeg_params(shape, quality, fn);
  if (p.b * p.image() == 0) return;
  PR_CHECK(x_ptr != 0 && out_ptr != 0 && x_ptr != out_ptr, fn, "x_ptr and out_ptr must be distinct and non-null");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  py::gil_scoped_release nogil;
  jpeg_cuda(p, stream, device);
}
#endif

}  // namespace

void register_corrupt_jpeg(py::module_& m) {
  m.def("corrupt_jpeg_cpu", &jpeg_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(), py::arg("quality"),
        "jpeg_compression (spec §C.2 item 15): baseline JPEG 4:2:0 round trip at `quality` (1..100) of (B, C, H, W) "
        "float32 x in [0, 1] into out (values k / 255).");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_jpeg_cuda", &jpeg_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("quality"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt_jpeg_cpu: raw device pointers, (B, C, H, W), the torch stream handle, device index.");
#endif
}

}  // namespace pyrepair
