// Bindings of the blur corruptions: numpy views (CPU) or raw device pointers (CUDA) -> BlurParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // std::vector<long long> shape arguments of the CUDA entry points

#include <cstdint>
#include <vector>

#include "common/check.h"
#include "corrupt/blur.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

using f32_array = py::array_t<float, py::array::c_style>;
using i32_array = py::array_t<int32_t, py::array::c_style>;

struct GlassArgs {
  int64_t delta;
  int64_t iterations;
  uint64_t seed;
  uint64_t index_offset;
  int severity;
};

BlurParams make_blur_params(const std::vector<long long>& shape, int op, int64_t n_weights, int64_t kh, int64_t kw,
                            int64_t n_offsets, const GlassArgs& g, const char* fn) {
  check_image_batch(shape, fn);
  PR_CHECK(op >= 0 && op <= 4, fn, "op must be 0 (gaussian), 1 (correlate), 2 (motion), 3 (zoom) or 4 (glass), got ",
           op);
  BlurParams p{};
  p.b = shape[0];
  p.c = shape[1];
  p.h = shape[2];
  p.w = shape[3];
  p.op = static_cast<BlurOp>(op);
  p.n_weights = n_weights;
  p.kh = kh;
  p.kw = kw;
  p.delta = g.delta;
  p.iterations = g.iterations;
  p.seed = g.seed;
  p.index_offset = g.index_offset;
  p.severity = g.severity;
  check_severity(g.severity, fn);
  PR_CHECK(n_weights >= 0, fn, "weights must not be negative in size");
  if (p.op == BlurOp::Gaussian || p.op == BlurOp::Glass) {
    PR_CHECK(p.op != BlurOp::Glass || (g.delta >= 1 && g.iterations >= 0), fn,
             "glass blur needs delta >= 1 and iterations >= 0, got ", g.delta, ", ", g.iterations);
    PR_CHECK(n_weights % 2 == 1, fn, "gaussian taps must be an odd number, got ", n_weights);
  } else if (p.op == BlurOp::Correlate) {
    PR_CHECK(kh > 0 && kw > 0 && kh % 2 == 1 && kw % 2 == 1 && kh * kw == n_weights, fn,
             "correlate needs an odd kh x kw kernel with kh * kw weights, got kh=", kh, ", kw=", kw,
             ", weights=", n_weights);
  } else if (p.op == BlurOp::Motion) {
    PR_CHECK(n_weights > 0 && n_offsets == p.b * n_weights * 2, fn, "motion needs (B, ", n_weights,
             ", 2) offsets, got ", n_offsets, " values");
  }
  return p;
}

void blur_cpu_py(const f32_array& x, f32_array& out, int op, const f32_array& weights, const i32_array& offsets,
                 int64_t kh, int64_t kw, int64_t delta, int64_t iterations, uint64_t seed, uint64_t index_offset,
                 int severity) {
  const char* fn = "corrupt_blur_cpu";
  const std::vector<long long> xs(x.shape(), x.shape() + x.ndim());
  const std::vector<long long> os(out.shape(), out.shape() + out.ndim());
  PR_CHECK(xs == os, fn, "out must have the shape of images ", shape_str(xs), ", got ", shape_str(os));
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  BlurParams p = make_blur_params(xs, op, weights.size(), kh, kw, offsets.size(),
                                  GlassArgs{delta, iterations, seed, index_offset, severity}, fn);
  p.x = x.data();
  p.out = out.mutable_data();
  p.weights = weights.data();
  p.offsets = offsets.data();
  PR_CHECK(p.x != p.out || x.size() == 0, fn, "out must not alias images");
  py::gil_scoped_release nogil;  // only raw pointers and numbers from here on
  corrupt_blur_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void blur_cuda_py(uintptr_t x_ptr, uintptr_t out_ptr, uintptr_t tmp_ptr, uintptr_t work_ptr,
                  const std::vector<long long>& shape, int op, uintptr_t weights_ptr, int64_t n_weights,
                  uintptr_t offsets_ptr, int64_t n_offsets, int64_t kh, int64_t kw, int64_t delta, int64_t iterations,
                  uint64_t seed, uint64_t index_offset, int severity, uintptr_t stream, int device) {
  const char* fn = "corrupt_blur_cuda";
  BlurParams p = make_blur_params(shape, op, n_weights, kh, kw, n_offsets,
                                  GlassArgs{delta, iterations, seed, index_offset, severity}, fn);
  const bool empty = p.b * p.image() == 0;
  PR_CHECK(empty || (x_ptr != 0 && out_ptr != 0 && weights_ptr != 0), fn, "pointers must not be null");
  PR_CHECK(empty || p.op != BlurOp::Gaussian || tmp_ptr != 0, fn, "gaussian needs a scratch buffer");
  PR_CHECK(empty || p.op != BlurOp::Glass || (tmp_ptr != 0 && work_ptr != 0), fn, "glass needs two scratch buffers");
  PR_CHECK(empty || p.op != BlurOp::Motion || offsets_ptr != 0, fn, "motion needs offsets");
  PR_CHECK(empty || x_ptr != out_ptr, fn, "out must not alias images");
  p.x = reinterpret_cast<const float*>(x_ptr);
  p.out = reinterpret_cast<float*>(out_ptr);
  p.tmp = reinterpret_cast<float*>(tmp_ptr);
  p.work = reinterpret_cast<float*>(work_ptr);
  p.weights = reinterpret_cast<const float*>(weights_ptr);
  p.offsets = reinterpret_cast<const int32_t*>(offsets_ptr);
  py::gil_scoped_release nogil;
  corrupt_blur_cuda(p, stream, device);
}
#endif

}  // namespace

void register_corrupt_blur(py::module_& m) {
  m.def("corrupt_blur_cpu", &blur_cpu_py, py::arg("x").noconvert(), py::arg("out").noconvert(), py::arg("op"),
        py::arg("weights").noconvert(), py::arg("offsets").noconvert(), py::arg("kh"), py::arg("kw"), py::arg("delta"),
        py::arg("iterations"), py::arg("seed"), py::arg("index_offset"), py::arg("severity"),
        "Blur op (0 gaussian taps, 1 reflect-101 correlation kh x kw, 2 motion taps + (B, K, 2) int32 offsets, "
        "3 zoom factors, 4 glass: gaussian taps + delta, iterations and the Philox key) of (B, C, H, W) float32 x "
        "into out (csrc/corrupt/blur.h).");
#if PYREPAIR_WITH_CUDA
  m.def("corrupt_blur_cuda", &blur_cuda_py, py::arg("x_ptr"), py::arg("out_ptr"), py::arg("tmp_ptr"),
        py::arg("work_ptr"), py::arg("shape"), py::arg("op"), py::arg("weights_ptr"), py::arg("n_weights"),
        py::arg("offsets_ptr"), py::arg("n_offsets"), py::arg("kh"), py::arg("kw"), py::arg("delta"),
        py::arg("iterations"), py::arg("seed"), py::arg("index_offset"), py::arg("severity"), py::arg("stream"),
        py::arg("device"),
        "Device twin of corrupt_blur_cpu: raw device pointers (tmp, work: scratch of x's shape for gaussian / "
        "glass), the torch stream handle, device index.");
#endif
}

}  // namespace pyrepair
