// Bindings of the `transform` family: numpy views (CPU) or raw device pointers (CUDA) -> Params structs.
//
// Python (pyrepair/transform/__init__.py) validated values and made every buffer contiguous with the right dtype;
// here we re-check what could corrupt memory (ranks, sizes, index range, op codes), then release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/check.h"
#include "transform/transform.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;  // no forcecast: a wrong dtype is an error, not a copy
using i64_array = py::array_t<int64_t, py::array::c_style>;
using i32_array = py::array_t<int32_t, py::array::c_style>;

std::vector<long long> shape_of(const py::array& a) {
  std::vector<long long> s;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s.push_back(static_cast<long long>(a.shape(d)));
  return s;
}

void check_shape(const py::array& a, const std::vector<long long>& want, const char* fn, const char* name) {
  PR_CHECK(shape_of(a) == want, fn, name, " must have shape ", shape_str(want), ", got ", shape_str(shape_of(a)));
}

Sampler to_sampler(int s, const char* fn) {
  PR_CHECK(s == 0 || s == 1, fn, "sampler must be 0 (zeros) or 1 (pil), got ", s);
  return static_cast<Sampler>(s);
}

PointOp to_point_op(int op, const char* fn) {
  PR_CHECK(op >= 0 && op <= 3, fn, "op must be 0..3 (autocontrast, equalize, posterize, solarize), got ", op);
  return static_cast<PointOp>(op);
}

EnhanceOp to_enhance_op(int op, const char* fn) {
  PR_CHECK(op >= 0 && op <= 3, fn, "op must be 0..3 (color, contrast, brightness, sharpness), got ", op);
  return static_cast<EnhanceOp>(op);
}

void check_point_param(PointOp op, const int32_t* param, int64_t b, const char* fn) {
  for (int64_t i = 0; i < b; ++i) {
    if (op == PointOp::Posterize) PR_CHECK(param[i] >= 0 && param[i] <= 8, fn, "bits must be in [0, 8], got ", param[i]);
    if (op == PointOp::Solarize)
      PR_CHECK(param[i] >= 0 && param[i] <= 256, fn, "threshold level must be in [0, 256], got ", param[i]);
  }
}

void warp_cpu_py(const f32_array& src, const i64_array& index, const f32_array& matrices,
                 const std::optional<f32_array>& photometric, const std::optional<f32_array>& mean,
                 const std::optional<f32_array>& std_, f32_array& out, float pivot, int sampler) {
  const char* fn = "transform_warp_cpu";
  PR_CHECK(src.ndim() == 4, fn, "src must have shape [B, C, H, W], got ", shape_str(shape_of(src)));
  PR_CHECK(matrices.ndim() == 3, fn, "matrices must have shape [P, N, 6], got ", shape_str(shape_of(matrices)));
  const int64_t b = src.shape(0), c = src.shape(1), h = src.shape(2), w = src.shape(3);
  const int64_t variants = matrices.shape(0), n = matrices.shape(1);
  check_shape(matrices, {variants, n, 6}, fn, "matrices");
  check_shape(index, {n}, fn, "index");
  check_shape(out, {variants, n, c, h, w}, fn, "out");
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (photometric) check_shape(*photometric, {variants, n, 2}, fn, "photometric");
  PR_CHECK(mean.has_value() == std_.has_value(), fn, "mean and std must be given together");
  if (mean) {
    check_shape(*mean, {c}, fn, "mean");
    check_shape(*std_, {c}, fn, "std");
  }
  const int64_t* idx = index.data();
  for (int64_t i = 0; i < n; ++i)
    PR_CHECK(idx[i] >= 0 && idx[i] < b, fn, "index must lie in [0, ", b, "), got ", idx[i], " at position ", i);
  WarpParams p{src.data(),
               idx,
               matrices.data(),
               photometric ? photometric->data() : nullptr,
               mean ? mean->data() : nullptr,
               std_ ? std_->data() : nullptr,
               out.mutable_data(),
               variants,
               n,
               b,
               c,
               h,
               w,
               pivot,
               to_sampler(sampler, fn)};
  py::gil_scoped_release nogil;  // only raw pointers and integers from here on
  warp_cpu(p);
}

void point_cpu_py(const f32_array& src, const i32_array& param, f32_array& out, int op) {
  const char* fn = "transform_point_cpu";
  PR_CHECK(src.ndim() == 4, fn, "src must have shape [B, C, H, W], got ", shape_str(shape_of(src)));
  const int64_t b = src.shape(0), c = src.shape(1), h = src.shape(2), w = src.shape(3);
  check_shape(param, {b}, fn, "param");
  check_shape(out, {b, c, h, w}, fn, "out");
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  const PointOp o = to_point_op(op, fn);
  check_point_param(o, param.data(), b, fn);
  PointParams p{src.data(), param.data(), out.mutable_data(), b, c, h, w, o};
  py::gil_scoped_release nogil;
  point_cpu(p);
}

void enhance_cpu_py(const f32_array& src, const f32_array& factor, f32_array& out, int op) {
  const char* fn = "transform_enhance_cpu";
  PR_CHECK(src.ndim() == 4, fn, "src must have shape [B, C, H, W], got ", shape_str(shape_of(src)));
  const int64_t b = src.shape(0), c = src.shape(1), h = src.shape(2), w = src.shape(3);
  check_shape(factor, {b}, fn, "factor");
  check_shape(out, {b, c, h, w}, fn, "out");
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  const EnhanceOp o = to_enhance_op(op, fn);
  if (o == EnhanceOp::Color || o == EnhanceOp::Contrast)
    PR_CHECK(c == 1 || c == 3, fn, "color and contrast need 1 or 3 channels, got C=", c);
  EnhanceParams p{src.data(), factor.data(), out.mutable_data(), b, c, h, w, o};
  py::gil_scoped_release nogil;
  enhance_cpu(p);
}

#if PYREPAIR_WITH_CUDA
// Shape tuples from Python: warp (P, N, B, C, H, W); point / enhance (B, C, H, W).
std::vector<int64_t> dims(const std::vector<int64_t>& shape, size_t rank, const char* fn) {
  PR_CHECK(shape.size() == rank, fn, "shape must have ", rank, " entries, got ", shape.size());
  for (int64_t s : shape) PR_CHECK(s >= 0, fn, "shape entries must be >= 0, got ", s);
  return shape;
}

void warp_cuda_py(uintptr_t src, uintptr_t index, uintptr_t matrices, uintptr_t photometric, uintptr_t mean,
                  uintptr_t std_, uintptr_t out, const std::vector<int64_t>& shape, float pivot, int sampler,
                  uintptr_t stream, int device) {
  const char* fn = "transform_warp_cuda";
  const auto s = dims(shape, 6, fn);
  PR_CHECK((mean == 0) == (std_ == 0), fn, "mean and std must be given together");
  PR_CHECK(src != 0 && index != 0 && matrices != 0 && out != 0, fn, "null device pointer");
  WarpParams p{reinterpret_cast<const float*>(src),
               reinterpret_cast<const int64_t*>(index),
               reinterpret_cast<const float*>(matrices),
               reinterpret_cast<const float*>(photometric),
               reinterpret_cast<const float*>(mean),
               reinterpret_cast<const float*>(std_),
               reinterpret_cast<float*>(out),
               s[0],
               s[1],
               s[2],
               s[3],
               s[4],
               s[5],
               pivot,
               to_sampler(sampler, fn)};
  py::gil_scoped_release nogil;
  warp_cuda(p, stream, device);
}

void point_cuda_py(uintptr_t src, uintptr_t param, uintptr_t out, const std::vector<int64_t>& shape, int op,
                   uintptr_t stream, int device) {
  const char* fn = "transform_point_cuda";
  const auto s = dims(shape, 4, fn);
  PR_CHECK(src != 0 && param != 0 && out != 0, fn, "null device pointer");
  PointParams p{reinterpret_cast<const float*>(src), reinterpret_cast<const int32_t*>(param),
                reinterpret_cast<float*>(out), s[0], s[1], s[2], s[3], to_point_op(op, fn)};
  py::gil_scoped_release nogil;
  point_cuda(p, stream, device);
}

void enhance_cuda_py(uintptr_t src, uintptr_t factor, uintptr_t out, const std::vector<int64_t>& shape, int op,
                     uintptr_t stream, int device) {
  const char* fn = "transform_enhance_cuda";
  const auto s = dims(shape, 4, fn);
  PR_CHECK(src != 0 && factor != 0 && out != 0, fn, "null device pointer");
  const EnhanceOp o = to_enhance_op(op, fn);
  if (o == EnhanceOp::Color || o == EnhanceOp::Contrast)
    PR_CHECK(s[1] == 1 || s[1] == 3, fn, "color and contrast need 1 or 3 channels, got C=", s[1]);
  EnhanceParams p{reinterpret_cast<const float*>(src), reinterpret_cast<const float*>(factor),
                  reinterpret_cast<float*>(out), s[0], s[1], s[2], s[3], o};
  py::gil_scoped_release nogil;
  enhance_cuda(p, stream, device);
}
#endif

}  // namespace

void register_transform(py::module_& m) {
  // .noconvert(): Python already made every buffer contiguous with the right dtype; a silent conversion of `out`
  // would write into a temporary copy that is then thrown away.
  m.def("transform_warp_cpu", &warp_cpu_py, py::arg("src").noconvert(), py::arg("index").noconvert(),
        py::arg("matrices").noconvert(), py::arg("photometric").noconvert(), py::arg("mean").noconvert(),
        py::arg("std").noconvert(), py::arg("out").noconvert(), py::arg("pivot"), py::arg("sampler"),
        "Affine warp: out[p, n] = normalise(photometric(bilinear(src[index[n]], matrices[p, n]))); src (B, C, H, W), "
        "index (N,) int64, matrices (P, N, 6), photometric (P, N, 2) or None, mean/std (C,) or None, "
        "out (P, N, C, H, W) written in place; sampler 0 = zeros per tap, 1 = Pillow bilinear.");
  m.def("transform_point_cpu", &point_cpu_py, py::arg("src").noconvert(), py::arg("param").noconvert(),
        py::arg("out").noconvert(), py::arg("op"),
        "8-bit lookup-table op per image and channel (0 autocontrast, 1 equalize, 2 posterize, 3 solarize); "
        "param (B,) int32; out (B, C, H, W) written in place with level / 255.");
  m.def("transform_enhance_cpu", &enhance_cpu_py, py::arg("src").noconvert(), py::arg("factor").noconvert(),
        py::arg("out").noconvert(), py::arg("op"),
        "ImageEnhance blend per image (0 color, 1 contrast, 2 brightness, 3 sharpness); factor (B,) float32; "
        "out (B, C, H, W) written in place.");
#if PYREPAIR_WITH_CUDA
  m.def("transform_warp_cuda", &warp_cuda_py, py::arg("src_ptr"), py::arg("index_ptr"), py::arg("matrices_ptr"),
        py::arg("photometric_ptr"), py::arg("mean_ptr"), py::arg("std_ptr"), py::arg("out_ptr"), py::arg("shape"),
        py::arg("pivot"), py::arg("sampler"), py::arg("stream"), py::arg("device"),
        "Device twin of transform_warp_cpu: raw device pointers (0 for absent optional buffers), "
        "shape (P, N, B, C, H, W), the torch stream handle, device index.");
  m.def("transform_point_cuda", &point_cuda_py, py::arg("src_ptr"), py::arg("param_ptr"), py::arg("out_ptr"),
        py::arg("shape"), py::arg("op"), py::arg("stream"), py::arg("device"),
        "Device twin of transform_point_cpu: raw device pointers, shape (B, C, H, W), stream handle, device index.");
  m.def("transform_enhance_cuda", &enhance_cuda_py, py::arg("src_ptr"), py::arg("factor_ptr"), py::arg("out_ptr"),
        py::arg("shape"), py::arg("op"), py::arg("stream"), py::arg("device"),
        "Device twin of transform_enhance_cpu: raw device pointers, shape (B, C, H, W), stream handle, device "
        "index.");
#endif
}

}  // namespace pyrepair
