// CUDA kernel of spatter (math in spatter.h): one thread per image runs the sequential per-image algorithm
// (Canny hysteresis and the histogram are sequential), with its scratch in one device workspace. Images are
// processed in chunks so the workspace stays bounded. Compiled with --fmad=false (CMakeLists.txt).
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "corrupt/spatter.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 64;
constexpr int64_t kMaxWorkspace = int64_t{1} << 30;  // bytes of scratch per chunk

__global__ void spatter_kernel(SpatterParams p, int64_t first, int64_t count, unsigned char* work, int64_t stride) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= count) return;
  const SpatterScratch s = spatter_scratch(work + t * stride, p.plane());
  spatter_image(p, first + t, s);
}

}  // namespace

void spatter_cuda(const SpatterParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t stride = (kSpatterBytesPerPixel * p.plane() + 255) / 256 * 256;
  int64_t chunk = kMaxWorkspace / stride;
  if (chunk < 1) chunk = 1;
  if (chunk > p.b) chunk = p.b;
  unsigned char* work = nullptr;
  PR_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&work), static_cast<size_t>(chunk * stride), s));
  for (int64_t first = 0; first < p.b; first += chunk) {
    const int64_t count = (p.b - first < chunk) ? p.b - first : chunk;
    spatter_kernel<<<static_cast<unsigned>((count + kThreads - 1) / kThreads), kThreads, 0, s>>>(p, first, count,
                                                                                                 work, stride);
    PR_CUDA_CHECK(cudaGetLastError());
  }
  PR_CUDA_CHECK(cudaFreeAsync(work, s));
}

}  // namespace pyrepair
