// Bindings of snow and frost: numpy views (CPU) or raw device pointers (CUDA) -> SnowParams / FrostParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/snowfrost.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;
using i32_array = py::array_t<int32_t, py::array::c_style>;
using i64_array = py::array_t<int64_t, py::array::c_style>;

SnowParams make_snow(const std::vector<long long>& shape, float mean, float std, float zoom, float threshold,
                     float blend, int64_t n_weights, uint64_t seed, uint64_t index_offset, int severity,
                     const char* fn) {
  check_image_batch(shape, fn);
  check_severity(severity, fn);
  PR_CHECK(zoom > 0.f && zoom < 1e4f, fn, "zoom must be in (0, 1e4), got ", zoom);
  PR_CHECK(n_weights >= 1 && n_weights % 2 == 1, fn, "motion-blur taps must be an odd number >= 1, got ", n_weights);
  SnowParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.mean = mean;
  p.std = std;
  p.zoom = zoom;
  p.threshold = threshold;
  p.blend = blend;
  p.n_weights = n_weights;
  p.seed = seed;
  p.index_offset = index_offset;
  p.severity = severity;
  return p;
}

void snow_cpu_py(const f32_array& x, f32_array& out, float mean, float std, float zoom, float threshold, float blend,
                 const f32_array& weights, const i32_array& offsets, uint64_t seed, uint64_t index_offset,
                 int severity) {
  const char* fn = "corrupt_snow_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  SnowParams p = make_snow(xs, mean, std, zoom, threshold, blend, static_cast<int64_t>(weights.size()), seed,
                           index_offset, severity, fn);
  PR_CHECK(offsets.size() == p.b * p.n_weights * 2, fn, "offsets must hold B * K * 2 = ", p.b * p.n_weights * 2,
           " int32 values, got ", offsets.size());
  if (x.size() == 0) return;
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  p.weights = weights.data();
  p.offsets = offsets.data();
  py::gil_scoped_release nogil;
  corrupt_snow_cpu(p);
}

FrostParams make_frost(const std::vector<long long>& shape, float a, float f, const char* fn) {
  check_image_batch(shape, fn);
  FrostParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.image_weight = a;
  p.frost_weight = f;
  return p;
}

void frost_cpu_py(const f32_array& x, f32_array& out, float a, float f, const f32_array& texture,
                  const i64_array& crops) {
  const char* fn = "corrupt_frost_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  FrostParams p = make_frost(xs, a, f, fn);
  PR_CHECK(crops.ndim() == 2 && crops.shape(0) == p.b && crops.shape(1) == 5, fn,
           "crops must have shape [B, 5] (offset, Th, Tw, top, left), got ndim ", crops.ndim());
  const int64_t* cr = crops.data();
  const int64_t n_tex = static_cast<int64_t>(texture.size());
  for (int64_t i = 0; i < p.b; ++i) {
    const int64_t* r = cr + i * 5;
    PR_CHECK(r[1] >= 1 && r[2] >= 1 && r[0] >= 0 && r[0] + 4 * r[1] * r[2] <= n_tex && r[3] >= 0 && r[4] >= 0, fn,
             "crop ", i, " (offset ", r[0], ", Th ", r[1], ", Tw ", r[2], ", top ", r[3], ", left ", r[4],
             ") does not fit the texture buffer of ", n_tex, " values");
  }
  if (x.size() == 0) return;
  p.x = x.data();
  p.out = out.mutable_data();
  PR_CHECK(p.x != p.out, fn, "out must not alias images");
  p.texture = texture.data();
  p.crops = cr;
  py::gil_scoped_release nogil;
  corrupt_frost_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void snow_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, uintptr_t layer_ptr, const std::vector<long long>& shape,
                  float mean, float std, float zoom, float threshold, float blend, uintptr_t weights_ptr,
                  long long n_weights, uintptr_t offsets_ptr, uint64_t seed, uint64_t index_offset, int severity,
                  uintptr_t stream, int device) {
  const char* fn = "corrupt_snow_cuda";
  SnowParams p = make_snow(shape, mean, std, zoom, threshold, blend, n_weights, seed, index_offset, severity, fn);
  if (p.b * p.c * p.h * p.w == 0) return;
  PR_CHECK(x_ptr != 0 && out_ptr != 0 && layer_ptr != 0 && weights_ptr != 0 && offsets_ptr != 0, fn,
           "pointers must not be null");
  PR_CHECK(x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  p.layer = reinterpret_cast<float*>(layer_ptr);
  p.weights = reinterpret_cast<const float*>(weights_ptr);
  p.offsets = reinterpret_cast<const int32_t*>(offsets_ptr);
  py::gil_scoped_release nogil;
  corrupt_snow_cuda(p, stream, device);
}

// The crops are device memory here and are not re-validated: pyrepair.corrupt._snowfrost builds them.
void frost_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, const std::vector<long long>& shape, float a, float f,
                   uintptr_t texture_ptr, long long texture_size, uintptr_t crops_ptr, uintptr_t stream, int device) {
  const char* fn = "corrupt_frost_cuda";
  FrostParams p = make_frost(shape, a, f, fn);
  if (p.b * p.c * p.h * p.w == 0) return;
  PR_CHECK(x_ptr != 0 && out_ptr != 0 && texture_ptr != 0 && crops_ptr != 0 && texture_size > 0, fn,
           "pointers must not be null and the texture not empty");
  PR_CHECK(x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  p.texture = reinterpret_cast<const float*>(texture_ptr);
  p.crops = reinterpret_cast<const int64_t*>(crops_ptr);
  py::gil_scoped_release nogil;
  corrupt_frost_cuda(p, stream, device);
}
#endif

}  // namespace

void register_snowfrost(py::module_& m) {
  m.def("corrupt_snow_cpu", &snow_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(), py::arg("mean"),
        py::arg("std"), py::arg("zoom"), py::arg("threshold"), py::arg("blend"), py::arg("weights").noconvert(),
        py::arg("offsets").noconvert(), py::arg("seed"), py::arg("index_offset"), py::arg("severity"),
        "snow (spec §C.2 item 8) of (B, C, H, W) float32 x into out; weights / offsets: the streak filter "
        "(K float32 taps, (B, K, 2) int32 (dy, dx)).");
  m.def("corrupt_frost_cpu", &frost_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(),
        py::arg("image_weight"), py::arg("frost_weight"), py::arg("texture").noconvert(),
        py::arg("crops").noconvert(),
        "frost (spec §C.2 item 9) of (B, C, H, W) float32 x into out; texture: packed (4, Th, Tw) float32 "
        "textures, crops: (B, 5) int64 (offset, Th, Tw, top, left).");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_snow_cuda", &snow_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("layer_ptr"),
        py::arg("shape"), py::arg("mean"), py::arg("std"), py::arg("zoom"), py::arg("threshold"), py::arg("blend"),
        py::arg("weights_ptr"), py::arg("n_weights"), py::arg("offsets_ptr"), py::arg("seed"),
        py::arg("index_offset"), py::arg("severity"), py::arg("stream"), py::arg("device"),
        "Device twin of corrupt_snow_cpu (layer_ptr: (B, H, W) float32 scratch).");
  m.def("corrupt_frost_cuda", &frost_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("image_weight"), py::arg("frost_weight"), py::arg("texture_ptr"), py::arg("texture_size"),
        py::arg("crops_ptr"), py::arg("stream"), py::arg("device"), "Device twin of corrupt_frost_cpu.");
#endif
}

}  // namespace pyrepair
