#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "random/random.h"

namespace pyrepair {

namespace {

// One thread per Philox block (four outputs), grid-stride loop; same per-element math as the CPU loop.
__global__ void random_fill_kernel(RandomParams p, uint64_t b0, int64_t nblocks) {
  const uint64_t first = p.offset;
  const uint64_t last = p.offset + static_cast<uint64_t>(p.n);
  for (int64_t bi = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; bi < nblocks;
       bi += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const uint64_t block = b0 + static_cast<uint64_t>(bi);
    const Philox4 w = philox_block(p.seed, p.stream, block);
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    if (p.dist != Distribution::Bits) random_block_values(w, p.dist, v);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const uint64_t g = block * 4 + k;
      if (g < first || g >= last) continue;
      const uint64_t i = g - first;
      if (p.dist == Distribution::Bits) {
        static_cast<uint32_t*>(p.out)[i] = w.v[k];
      } else {
        static_cast<float*>(p.out)[i] = v[k];
      }
    }
  }
}

}  // namespace

void random_fill_cuda(const RandomParams& p, uintptr_t stream, int device) {
  if (p.n <= 0) return;
  DeviceGuard guard(device);
  const uint64_t b0 = p.offset >> 2;
  const int64_t nblocks = static_cast<int64_t>(((p.offset + static_cast<uint64_t>(p.n) - 1) >> 2) - b0 + 1);
  constexpr int kThreads = 256;
  random_fill_kernel<<<grid_for(nblocks, kThreads), kThreads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(
      p, b0, nblocks);
  PR_CUDA_CHECK(cudaGetLastError());
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error: no driver or no device simply means zero devices
    return 0;
  }
  return n;
}

}  // namespace pyrepair
