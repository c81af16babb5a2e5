// The CPU route through the CUDA kernels' math (host side only).
//
// Every CUDA kernel's thread body is a PR_HD function of its family's header (csrc/README.md lists them). The CPU
// entry points run their fast loops (SIMD lanes, hoisted index math) by default; with the path set to Device they
// run those thread bodies instead, launch by launch as the .cu file issues them (host_launch: thread t of a
// grid-stride loop, for every t), with host scratch buffers in place of the device ones. The parity tests run the
// CPU bindings on both paths against the torch reference (tests/test_device_path.py), so the math that only ever
// runs on a GPU is checked on CPU-only CI. Test-only: _core.set_cpu_path("device"), back with "fast".
#pragma once

#include <atomic>
#include <cstdint>

#include "common/parallel.h"

namespace pyrepair {

enum class CpuPath : int {
  Fast = 0,    // the CPU loops (default)
  Device = 1,  // the CUDA kernels' thread bodies, run on the host
};

inline std::atomic<int>& cpu_path_state() {
  static std::atomic<int> state{static_cast<int>(CpuPath::Fast)};
  return state;
}

inline bool device_path() {
  return cpu_path_state().load(std::memory_order_relaxed) == static_cast<int>(CpuPath::Device);
}

// Thread t = 0 .. total - 1 of a grid-stride kernel: body(t), in parallel chunks (each t writes its own outputs,
// as on the GPU, so the chunking does not change any value).
template <typename F>
void host_launch(int64_t total, const F& body) {
  parallel_for(total, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) body(t);
  });
}

}  // namespace pyrepair
