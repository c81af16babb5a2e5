// Bindings of the `random` family: numpy views (CPU) or raw device pointers (CUDA) -> RandomParams.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "common/check.h"
#include "random/random.h"

namespace py = pybind11;

namespace pyrepair {

namespace {

Distribution to_dist(int d, const char* fn) {
  PR_CHECK(d >= 0 && d <= 2, fn, "dist must be 0 (bits), 1 (uniform) or 2 (normal), got ", d);
  return static_cast<Distribution>(d);
}

void random_fill_cpu_py(py::array out, uint64_t seed, uint64_t stream, uint64_t offset, int dist) {
  const char* fn = "random_fill_cpu";
  const Distribution d = to_dist(dist, fn);
  PR_CHECK(out.flags() & py::array::c_style, fn, "out must be C-contiguous");
  PR_CHECK(out.writeable(), fn, "out must be writeable");
  if (d == Distribution::Bits) {
    PR_CHECK(out.dtype().is(py::dtype::of<uint32_t>()), fn, "out must be uint32 for dist=bits, got ",
             std::string(py::str(out.dtype())));
  } else {
    PR_CHECK(out.dtype().is(py::dtype::of<float>()), fn, "out must be float32, got ",
             std::string(py::str(out.dtype())));
  }
  RandomParams p{out.mutable_data(), static_cast<int64_t>(out.size()), seed, stream, offset, d};
  py::gil_scoped_release nogil;  // only raw pointers and integers from here on
  random_fill_cpu(p);
}

#if PYREPAIR_WITH_CUDA
void random_fill_cuda_py(uintptr_t out_ptr, int64_t n, uint64_t seed, uint64_t stream_id, uint64_t offset, int dist,
                         uintptr_t stream, int device) {
  const char* fn = "random_fill_cuda";
  const Distribution d = to_dist(dist, fn);
  PR_CHECK(n >= 0, fn, "n must be >= 0, got ", n);
  PR_CHECK(out_ptr != 0 || n == 0, fn, "out_ptr is null");
  RandomParams p{reinterpret_cast<void*>(out_ptr), n, seed, stream_id, offset, d};
  py::gil_scoped_release nogil;
  random_fill_cuda(p, stream, device);
}
#endif

py::tuple philox_py(py::tuple counter, py::tuple key) {
  PR_CHECK(counter.size() == 4 && key.size() == 2, "philox4x32_10", "counter must have 4 words and key 2, got ",
           counter.size(), " and ", key.size());
  Philox4 c;
  for (int i = 0; i < 4; ++i) c.v[i] = counter[i].cast<uint32_t>();
  const Philox4 r = philox4x32_10(c, key[0].cast<uint32_t>(), key[1].cast<uint32_t>());
  return py::make_tuple(r.v[0], r.v[1], r.v[2], r.v[3]);
}

// Test hook: the words of the kPhiloxLanes blocks base + l * stride through one CPU lane path (common/rng.h).
py::array_t<uint32_t> philox_lanes_py(uint64_t seed, uint64_t stream, uint64_t base, uint64_t stride,
                                      const std::string& path) {
  const char* fn = "philox_lanes_cpu";
  PhiloxPath pp = PhiloxPath::Auto;
  if (path == "generic") {
    pp = PhiloxPath::Generic;
  } else if (path == "avx2") {
    pp = PhiloxPath::Avx2;
  } else if (path == "scalar") {
    pp = PhiloxPath::Scalar;
  } else {
    PR_CHECK(path == "auto", fn, "path must be 'auto', 'generic', 'avx2' or 'scalar', got '", path, "'");
  }
  PhiloxLanes lanes;
  philox_lanes(seed, stream, base, stride, lanes, pp);
  py::array_t<uint32_t> out({4, kPhiloxLanes});
  uint32_t* o = out.mutable_data();
  for (int k = 0; k < 4; ++k) {
    for (int l = 0; l < kPhiloxLanes; ++l) o[k * kPhiloxLanes + l] = lanes.w[k][l];
  }
  return out;
}

}  // namespace

void register_random(py::module_& m) {
  m.def("random_fill_cpu", &random_fill_cpu_py, py::arg("out").noconvert(), py::arg("seed"), py::arg("stream"),
        py::arg("offset"), py::arg("dist"),
        "Fill a C-contiguous array (uint32 for dist=0, float32 otherwise) from the Philox stream, in place.");
  m.def("philox4x32_10", &philox_py, py::arg("counter"), py::arg("key"),
        "One Philox 4x32-10 block: counter (4 uint32), key (2 uint32) -> 4 uint32 (for known-answer tests).");
  m.def("philox_lanes_cpu", &philox_lanes_py, py::arg("seed"), py::arg("stream"), py::arg("base"), py::arg("stride"),
        py::arg("path") = "auto",
        "Test hook: words (4, 64) of Philox blocks base + l * stride of (seed, stream) through one CPU lane path "
        "('auto', 'generic', 'avx2' (the generic lanes on a CPU without AVX2), 'scalar').");
#if PYREPAIR_WITH_CUDA
  m.def("random_fill_cuda", &random_fill_cuda_py, py::arg("out_ptr"), py::arg("n"), py::arg("seed"),
        py::arg("stream_id"), py::arg("offset"), py::arg("dist"), py::arg("stream"), py::arg("device"),
        "Device twin of random_fill_cpu: raw device pointer, element count, torch stream handle, device index.");
  m.def("cuda_device_count", &cuda_device_count, "Number of visible CUDA devices (0 when no driver or device).");
#endif
}

}  // namespace pyrepair
