// CUDA kernels of the blur corruptions; the per-element math is blur.h's, shared with the CPU loops. Compiled with
// --fmad=false (CMakeLists.txt) so the tap sums round as on the CPU. One thread per output element, grid-stride.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "corrupt/blur.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Gaussian passes (gauss_thread).
__global__ void gauss_kernel(BlurParams p, const float* src, float* dst, int pass, bool quantize) {
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    gauss_thread(p, src, dst, pass, quantize, t);
}

// Correlate, motion, zoom (pointwise_thread).
__global__ void pointwise_kernel(BlurParams p) {
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    pointwise_thread(p, t);
}

// Glass-blur shuffle: one thread per image running the sequential loop of glass_shuffle in the reference order
// (each step reads pixels earlier steps may have changed, so an image cannot be split across threads).
__global__ void glass_shuffle_kernel(BlurParams p, float* img) {
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < p.b;
       b += static_cast<int64_t>(blockDim.x) * gridDim.x)
    glass_shuffle_thread(p, img, b);
}

}  // namespace

void corrupt_blur_cuda(const BlurParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t total = p.b * p.image();
  const unsigned grid = grid_for(total, kThreads);
  blur_schedule(
      p, p.tmp, p.work,
      [&](const float* src, float* dst, int pass, bool quantize) {
        gauss_kernel<<<grid, kThreads, 0, s>>>(p, src, dst, pass, quantize);
        PR_CUDA_CHECK(cudaGetLastError());
      },
      [&](float* work) {
        glass_shuffle_kernel<<<grid_for(p.b, 64), 64, 0, s>>>(p, work);
        PR_CUDA_CHECK(cudaGetLastError());
      },
      [&] {
        pointwise_kernel<<<grid, kThreads, 0, s>>>(p);
        PR_CUDA_CHECK(cudaGetLastError());
      });
}

}  // namespace pyrepair
