// Bindings of spatter (spec §C.2 item 18): numpy views (CPU) or raw device pointers (CUDA) -> SpatterParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape argument of the CUDA entry point

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/spatter.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;
using f64_array = py::array_t<double, py::array::c_style>;

SpatterParams make_spatter(const std::vector<long long>& shape, long long ntaps, long long nmud, float mean,
                           float std_, float thr, float intensity, int mode, uint64_t seed, uint64_t index_offset,
                           int severity, const char* fn) {
  check_image_batch(shape, fn);
  PR_CHECK(shape[2] * shape[3] < (1ll << 31), fn, "images must have fewer than 2^31 pixels, got ", shape_str(shape));
  check_severity(severity, fn);
  PR_CHECK(mode == 0 || mode == 1, fn, "mode must be 0 (water) or 1 (mud), got ", mode);
  PR_CHECK(ntaps >= 1 && ntaps % 2 == 1, fn, "taps must have an odd, positive length, got ", ntaps);
  PR_CHECK(mode == 0 || (nmud >= 1 && nmud % 2 == 1), fn, "mud_taps must have an odd, positive length, got ", nmud);
  SpatterParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.ntaps = ntaps;
  p.nmud = nmud;
  p.mean = mean;
  p.std = std_;
  p.thr = thr;
  p.intensity = intensity;
  p.mode = mode;
  p.seed = seed;
  p.index_offset = index_offset;
  p.severity = severity;
  return p;
}

void spatter_cpu_py(const f32_array& x, f32_array& out, const f64_array& taps, const f64_array& mud_taps,
                    float mean, float std_, float thr, float intensity, int mode, uint64_t seed,
                    uint64_t index_offset, int severity) {
  const char* fn = "corrupt_spatter_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  PR_CHECK(taps.ndim() == 1 && mud_taps.ndim() == 1, fn, "taps and mud_taps must be 1-D");
  SpatterParams p = make_spatter(xs, taps.shape(0), mud_taps.shape(0), mean, std_, thr, intensity, mode, seed,
                                 index_offset, severity, fn);
  if (x.size() == 0) return;
  p.x = x.data();
  p.out = out.mutable_data();
  p.taps = taps.data();
  p.mud_taps = mud_taps.data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  py::gil_scoped_release nogil;
  spatter_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void spatter_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, uintptr_t taps_ptr,
                     long long ntaps, uintptr_t mud_ptr, long long nmud, float mean, float std_, float thr,
                     float intensity, int mode, uint64_t seed, uint64_t index_offset, int severity,
                     uintptr_t stream, int device) {
  const char* fn = "corrupt_spatter_cuda";
  SpatterParams p = make_spatter(shape, ntaps, nmud, mean, std_, thr, intensity, mode, seed, index_offset,
                                 severity, fn);
  if (p.b * p.image() == 0) return;
  PR_CHECK(x_ptr != 0 && out_ptr != 0 && x_ptr != out_ptr, fn, "x_ptr and out_ptr must be distinct and non-null");
  PR_CHECK(taps_ptr != 0 && (mode == 0 || mud_ptr != 0), fn, "taps_ptr (and mud_ptr in mode 1) must be non-null");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  p.taps = reinterpret_cast<const double*>(taps_ptr);
  p.mud_taps = reinterpret_cast<const double*>(mud_ptr);
  py::gil_scoped_release nogil;
  spatter_cuda(p, stream, device);
}
#endif

}  // namespace

void register_corrupt_spatter(py::module_& m) {
  m.def("corrupt_spatter_cpu", &spatter_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("taps").noconvert(), py::arg("mud_taps").noconvert(), py::arg("mean"), py::arg("std"),
        py::arg("thr"), py::arg("intensity"), py::arg("mode"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"),
        "spatter (spec §C.2 item 18) of (B, C, H, W) float32 x into out; taps / mud_taps: float64 Gaussian taps of "
        "the layer blur and (mode 1) the mud mask blur.");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_spatter_cuda", &spatter_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("taps_ptr"), py::arg("ntaps"), py::arg("mud_ptr"), py::arg("nmud"), py::arg("mean"), py::arg("std"),
        py::arg("thr"), py::arg("intensity"), py::arg("mode"), py::arg("seed"), py::arg("index_offset"),
        py::arg("severity"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt_spatter_cpu: raw device pointers (taps as float64 device arrays).");
#endif
}

}  // namespace pyrepair
