// CUDA helpers (CUDA builds only): error checks that name the failing call, launch geometry, device guard.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <sstream>
#include <stdexcept>

namespace pyrepair {

inline void cuda_check(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) {
    std::ostringstream os;
    os << "pyrepair CUDA error: " << cudaGetErrorString(err) << " in `" << call << "` at " << file << ":" << line;
    throw std::runtime_error(os.str());
  }
}

// Sets the current device for its lifetime and restores the previous one (kernels launch on the tensor's device).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    cuda_check(cudaGetDevice(&prev_), "cudaGetDevice", __FILE__, __LINE__);
    if (device != prev_) cuda_check(cudaSetDevice(device), "cudaSetDevice", __FILE__, __LINE__);
  }
  ~DeviceGuard() { cudaSetDevice(prev_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = 0;
};

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never more than needed.
inline unsigned grid_for(int64_t n, int threads, int max_blocks = 65535 * 8) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > max_blocks) blocks = max_blocks;
  return static_cast<unsigned>(blocks);
}

}  // namespace pyrepair

#define PR_CUDA_CHECK(call) ::pyrepair::cuda_check((call), #call, __FILE__, __LINE__)
