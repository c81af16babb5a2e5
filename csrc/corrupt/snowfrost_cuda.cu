// CUDA kernels of snow and frost; the per-value math is snowfrost.h's, shared with the CPU loops. Compiled with
// --fmad=false (CMakeLists.txt).
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "common/rng.h"
#include "corrupt/snowfrost.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Snow, pass 1: the zoomed, thresholded, 8-bit layer of every image (one thread per layer element; the four source
// normals are drawn directly, Philox being counter-based).
__global__ void snow_layer_kernel(SnowParams p) {
  const int64_t total = p.b * p.h * p.w;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    snow_layer_thread(p, p.layer, t);
}

// Snow, pass 2: streaks and the blend.
__global__ void snow_blend_kernel(SnowParams p) {
  const int64_t total = p.b * p.h * p.w;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    snow_blend_thread(p, p.layer, t);
}

__global__ void frost_kernel(FrostParams p) {
  const int64_t total = p.b * p.c * p.h * p.w;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    frost_thread(p, t);
}

}  // namespace

void corrupt_snow_cuda(const SnowParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t n = p.b * p.h * p.w;
  snow_layer_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
  snow_blend_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void corrupt_frost_cuda(const FrostParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  frost_kernel<<<grid_for(p.b * p.c * p.h * p.w, kThreads), kThreads, 0, s>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
