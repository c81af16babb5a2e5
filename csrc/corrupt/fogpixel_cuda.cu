// CUDA kernels of fog and pixelate; the per-value math is fogpixel.h's, shared with the CPU loops. Compiled with
// --fmad=false (CMakeLists.txt) so float64 products and sums round as on the CPU and in torch.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "common/rng.h"
#include "corrupt/fogpixel.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Pixelate: one thread per output element.
__global__ void pixelate_kernel(FogPixelParams p) {
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    pixelate_thread(p, t);
}

// One phase of one plasma octave over all images (plasma_phase_thread).
__global__ void plasma_phase_kernel(FogPixelParams p, double* maps, int64_t step, int phase, double wib) {
  const int64_t total = p.b * plasma_phase_cells(p.n1, step, phase);
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    plasma_phase_thread(p, maps, step, phase, wib, t);
}

// Fog blend: one CUDA block per image; min / max of the map and max of the image by tree reduction (exact for
// min / max, so independent of the order), then the point operation.
__global__ void fog_apply_kernel(FogPixelParams p, const double* maps) {
  __shared__ double smin[kThreads];
  __shared__ double smax[kThreads];
  __shared__ float sx[kThreads];
  const int64_t n = p.n1;
  const int64_t hw = p.plane();
  const int64_t img_size = p.image();
  for (int64_t img = blockIdx.x; img < p.b; img += gridDim.x) {
    const double* m = maps + img * n * n;
    const float* x = p.x + img * img_size;
    double lo = m[0], hi = m[0];
    float xm = x[0];
    for (int64_t k = threadIdx.x; k < n * n; k += blockDim.x) {
      lo = fmin(lo, m[k]);
      hi = fmax(hi, m[k]);
    }
    for (int64_t k = threadIdx.x; k < img_size; k += blockDim.x) xm = fmaxf(xm, x[k]);
    smin[threadIdx.x] = lo;
    smax[threadIdx.x] = hi;
    sx[threadIdx.x] = xm;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
      if (static_cast<int>(threadIdx.x) < stride) {
        smin[threadIdx.x] = fmin(smin[threadIdx.x], smin[threadIdx.x + stride]);
        smax[threadIdx.x] = fmax(smax[threadIdx.x], smax[threadIdx.x + stride]);
        sx[threadIdx.x] = fmaxf(sx[threadIdx.x], sx[threadIdx.x + stride]);
      }
      __syncthreads();
    }
    lo = smin[0];
    const double range = smax[0] - lo;
    const double xmax = static_cast<double>(sx[0]);
    __syncthreads();  // everyone has read the results before the next image overwrites them
    for (int64_t k = threadIdx.x; k < hw; k += blockDim.x) fog_pixel(p, m, img, k, lo, range, xmax);
  }
}

}  // namespace

void fogpixel_cuda(const FogPixelParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  if (p.kind == FogPixelKind::Pixelate) {
    pixelate_kernel<<<grid_for(p.b * p.image(), kThreads), kThreads, 0, s>>>(p);
    PR_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const int64_t n = p.n1;
  double* maps = nullptr;
  PR_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&maps), static_cast<size_t>(p.b * n * n) * sizeof(double), s));
  PR_CUDA_CHECK(cudaMemsetAsync(maps, 0, static_cast<size_t>(p.b * n * n) * sizeof(double), s));
  plasma_schedule(p, [&](int64_t step, int phase, double wib, int64_t cells) {
    plasma_phase_kernel<<<grid_for(p.b * cells, kThreads), kThreads, 0, s>>>(p, maps, step, phase, wib);
    PR_CUDA_CHECK(cudaGetLastError());
  });
  const unsigned blocks = static_cast<unsigned>(p.b < 65535 * 8 ? p.b : 65535 * 8);
  fog_apply_kernel<<<blocks, kThreads, 0, s>>>(p, maps);
  PR_CUDA_CHECK(cudaGetLastError());
  PR_CUDA_CHECK(cudaFreeAsync(maps, s));
}

}  // namespace pyrepair
