// CUDA kernels of the wavelet family: the per-element math of wavelet.h, shared with the CPU loops.
// Haar: one thread per 2x2 block; moments and Jacobi: one thread per group (C <= 16 matrices are tiny; the group
// is reduced sequentially, so the result equals the CPU's summation order); apply: one thread per output element.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "wavelet/wavelet.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

__global__ void haar_dwt_kernel(HaarParams p) {
  const int64_t total = p.planes() * p.band();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pl = t / p.band(), k = t % p.band();
    haar_analysis_block(p, pl, k / p.hw, k % p.hw);
  }
}

__global__ void haar_idwt_kernel(HaarParams p) {
  const int64_t total = p.planes() * p.band();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pl = t / p.band(), k = t % p.band();
    haar_synthesis_block(p, pl, k / p.hw, k % p.hw);
  }
}

__global__ void moments_kernel(MomentParams p) {
  for (int64_t gi = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; gi < p.g;
       gi += static_cast<int64_t>(blockDim.x) * gridDim.x)
    moments_group(p, gi);
}

__global__ void eigh_kernel(EigParams p) {
  for (int64_t gi = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; gi < p.g;
       gi += static_cast<int64_t>(blockDim.x) * gridDim.x)
    jacobi_eigh_group(p, gi);
}

__global__ void wct_apply_kernel(WctApplyParams p) {
  const int64_t total = p.g * p.c * p.n;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    wct_apply_thread(p, t);
}

__global__ void spectral_cross_kernel(SpectralCrossParams p) {
  const int64_t total = p.c * p.c * p.k;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    spectral_cross_thread(p, t);
}

__global__ void spectral_apply_kernel(SpectralApplyParams p) {
  const int64_t total = p.n * p.c * p.k;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    spectral_apply_thread(p, t);
}

cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

}  // namespace

void haar_dwt_cuda(const HaarParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  const int64_t n = p.planes() * p.band();
  if (n == 0) return;
  haar_dwt_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void haar_idwt_cuda(const HaarParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  const int64_t n = p.planes() * p.band();
  if (n == 0) return;
  haar_idwt_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void wavelet_moments_cuda(const MomentParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  if (p.g == 0) return;
  moments_kernel<<<grid_for(p.g, 64), 64, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void wavelet_eigh_cuda(const EigParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  if (p.g == 0) return;
  eigh_kernel<<<grid_for(p.g, 64), 64, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void wct_apply_cuda(const WctApplyParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  const int64_t n = p.g * p.c * p.n;
  if (n == 0) return;
  wct_apply_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void spectral_cross_cuda(const SpectralCrossParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  const int64_t n = p.c * p.c * p.k;
  if (n == 0) return;
  spectral_cross_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void spectral_apply_cuda(const SpectralApplyParams& p, uintptr_t stream, int device) {
  DeviceGuard guard(device);
  const int64_t n = p.n * p.c * p.k;
  if (n == 0) return;
  spectral_apply_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
