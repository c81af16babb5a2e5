// CUDA kernels of the per-pixel corruptions; the per-element math is corrupt.h's, shared with the CPU loops.
// Compiled with --fmad=false (CMakeLists.txt) so + and * round as on the CPU and in torch.
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "common/cuda_utils.cuh"
#include "common/rng.h"
#include "corrupt/corrupt.h"
#include "corrupt/poisson_table.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Gaussian, speckle, impulse: one thread per (image, Philox block of four elements), grid-stride loop.
__global__ void block_noise_kernel(CorruptParams p, int64_t nblk) {
  const int64_t total = p.b * nblk;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    block_noise_thread(p, nblk, t);
}

// Shot noise: one thread per element (shot_thread).
__global__ void shot_kernel(CorruptParams p, PoissonTableView tv) {
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    shot_thread(p, tv, t);
}

// Shot noise launch: the host tables (cached) copied to one scratch buffer of the stream, freed after the kernel.
void shot_launch(const CorruptParams& p, cudaStream_t s) {
  const unsigned grid = grid_for(p.b * p.image(), kThreads);
  if (!(p.a <= kTableMaxPhotons)) {
    shot_kernel<<<grid, kThreads, 0, s>>>(p, PoissonTableView{nullptr, nullptr, nullptr, nullptr});
    return;
  }
  const std::shared_ptr<const PoissonTables> t = cached_poisson_tables(p.a);
  const size_t nd = t->total.size() + t->cdf.size(), ni = t->info.size(), ng = t->guide.size();
  const size_t bytes = nd * sizeof(double) + ni * sizeof(int32_t) + ng * sizeof(uint16_t);
  char* buf = nullptr;
  PR_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buf), bytes, s));
  double* total = reinterpret_cast<double*>(buf);
  double* cdf = total + t->total.size();
  int32_t* info = reinterpret_cast<int32_t*>(buf + nd * sizeof(double));
  uint16_t* guide = reinterpret_cast<uint16_t*>(buf + nd * sizeof(double) + ni * sizeof(int32_t));
  PR_CUDA_CHECK(cudaMemcpyAsync(total, t->total.data(), t->total.size() * sizeof(double), cudaMemcpyHostToDevice, s));
  PR_CUDA_CHECK(cudaMemcpyAsync(cdf, t->cdf.data(), t->cdf.size() * sizeof(double), cudaMemcpyHostToDevice, s));
  PR_CUDA_CHECK(cudaMemcpyAsync(info, t->info.data(), ni * sizeof(int32_t), cudaMemcpyHostToDevice, s));
  PR_CUDA_CHECK(cudaMemcpyAsync(guide, t->guide.data(), ng * sizeof(uint16_t), cudaMemcpyHostToDevice, s));
  shot_kernel<<<grid, kThreads, 0, s>>>(p, PoissonTableView{cdf, total, info, guide});
  PR_CUDA_CHECK(cudaGetLastError());
  PR_CUDA_CHECK(cudaStreamSynchronize(s));  // the host tables (`t`) must outlive the copies
  PR_CUDA_CHECK(cudaFreeAsync(buf, s));
}

// Brightness and saturate: one thread per pixel (all channels).
__global__ void hsv_kernel(CorruptParams p) {
  const int64_t total = p.b * p.plane();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    hsv_thread(p, t);
}

// Contrast: one CUDA block per plane (image, channel): contrast_partial per thread, the float64 halving tree in
// shared memory (contrast_tree_mean's order), then the point operation on the same plane (one launch).
__global__ void contrast_kernel(CorruptParams p) {
  __shared__ double partial[kContrastThreads];
  const int64_t hw = p.plane();
  for (int64_t pl = blockIdx.x; pl < p.b * p.c; pl += gridDim.x) {
    const float* x = p.x + pl * hw;
    float* out = p.out + pl * hw;
    partial[threadIdx.x] = contrast_partial(x, hw, threadIdx.x, blockDim.x);
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
      if (static_cast<int>(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
      __syncthreads();
    }
    const float mean = static_cast<float>(partial[0] / static_cast<double>(hw));
    __syncthreads();  // everyone has read partial[0] before the next plane overwrites it
    for (int64_t k = threadIdx.x; k < hw; k += blockDim.x) out[k] = contrast_value(x[k], mean, p.a);
  }
}

}  // namespace

void corrupt_cuda(const CorruptParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  switch (p.kind) {
    case Corruption::GaussianNoise:
    case Corruption::ImpulseNoise:
    case Corruption::SpeckleNoise: {
      const int64_t nblk = (p.image() + 3) / 4;
      block_noise_kernel<<<grid_for(p.b * nblk, kThreads), kThreads, 0, s>>>(p, nblk);
      break;
    }
    case Corruption::ShotNoise:
      shot_launch(p, s);
      break;
    case Corruption::Brightness:
    case Corruption::Saturate:
      hsv_kernel<<<grid_for(p.b * p.plane(), kThreads), kThreads, 0, s>>>(p);
      break;
    case Corruption::Contrast: {
      const int64_t planes = p.b * p.c;
      const unsigned blocks = static_cast<unsigned>(planes < 65535 * 8 ? planes : 65535 * 8);
      contrast_kernel<<<blocks, kContrastThreads, 0, s>>>(p);
      break;
    }
  }
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
