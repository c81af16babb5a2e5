// PYBIND11_MODULE(_core): registers every kernel family and reports how the module was built.
#include <pybind11/pybind11.h>

#include <string>

#include "common/check.h"
#include "common/device_path.h"
#include "common/macros.h"
#include "common/parallel.h"

#if PYREPAIR_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#ifndef PYREPAIR_VERSION
#define PYREPAIR_VERSION "0.0.0"
#endif
#ifndef PYREPAIR_CUDA_ARCHS
#define PYREPAIR_CUDA_ARCHS ""
#endif

namespace py = pybind11;

namespace pyrepair {
void register_random(py::module_& m);
void register_transform(py::module_& m);
void register_corrupt(py::module_& m);
void register_fogpixel(py::module_& m);
void register_elastic(py::module_& m);
void register_corrupt_blur(py::module_& m);
void register_snowfrost(py::module_& m);
void register_corrupt_spatter(py::module_& m);
void register_corrupt_jpeg(py::module_& m);
void register_wavelet(py::module_& m);
}

namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

py::dict build_info() {
  py::dict d;
  d["version"] = PYREPAIR_VERSION;
  d["cuda"] = static_cast<bool>(PYREPAIR_WITH_CUDA);
  d["cuda_archs"] = std::string(PYREPAIR_WITH_CUDA ? PYREPAIR_CUDA_ARCHS : "");
#if PYREPAIR_WITH_CUDA
  d["cuda_runtime_version"] = CUDART_VERSION;
#else
  d["cuda_runtime_version"] = py::none();
#endif
  d["openmp"] = static_cast<bool>(PYREPAIR_WITH_OPENMP);
  d["compiler"] = compiler();
  return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyrepair compiled kernels (C++/OpenMP, optional CUDA); use the Python API in pyrepair.*";
  m.def("build_info", &build_info, "How this module was built: version, cuda, cuda_archs, openmp, compiler.");
  m.def("get_num_threads", &pyrepair::max_threads, "Threads the CPU kernels use (1 without OpenMP).");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) pyrepair::fail("set_num_threads", "n must be >= 1, got ", n);
        pyrepair::set_max_threads(n);
      },
      py::arg("n"), "Set the number of threads the CPU kernels use (no effect without OpenMP).");
  m.def(
      "set_cpu_path",
      [](const std::string& path) {
        using pyrepair::CpuPath;
        const int prev = pyrepair::cpu_path_state().load();
        if (path == "fast") {
          pyrepair::cpu_path_state().store(static_cast<int>(CpuPath::Fast));
        } else if (path == "device") {
          pyrepair::cpu_path_state().store(static_cast<int>(CpuPath::Device));
        } else {
          pyrepair::fail("set_cpu_path", "path must be 'fast' or 'device', got '", path, "'");
        }
        return std::string(prev == static_cast<int>(CpuPath::Device) ? "device" : "fast");
      },
      py::arg("path"),
      "Test hook: the loop the *_cpu kernels run, 'fast' (default: the CPU loops) or 'device' (the CUDA kernels' "
      "thread bodies, run on the host; csrc/common/device_path.h). Returns the previous path.");
  pyrepair::register_random(m);
  pyrepair::register_transform(m);
  pyrepair::register_corrupt(m);
  pyrepair::register_fogpixel(m);
  pyrepair::register_elastic(m);
  pyrepair::register_corrupt_blur(m);
  pyrepair::register_snowfrost(m);
  pyrepair::register_corrupt_spatter(m);
  pyrepair::register_corrupt_jpeg(m);
  pyrepair::register_wavelet(m);
}
