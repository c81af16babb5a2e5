#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "random/random.h"

namespace pyrepair {

namespace {

// One thread per Philox block (four outputs), grid-stride loop: random_fill_block, as the CPU loop.
__global__ void random_fill_kernel(RandomParams p, uint64_t b0, int64_t nblocks) {
  for (int64_t bi = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; bi < nblocks;
       bi += static_cast<int64_t>(blockDim.x) * gridDim.x)
    random_fill_block(p, b0, bi);
}

}  // namespace

void random_fill_cuda(const RandomParams& p, uintptr_t stream, int device) {
  if (p.n <= 0) return;
  DeviceGuard guard(device);
  uint64_t b0 = 0;
  const int64_t nblocks = random_fill_blocks(p, &b0);
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
