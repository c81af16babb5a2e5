// CUDA kernels of the blur corruptions; the per-element math is blur.h's, shared with the CPU loops. Compiled with
// --fmad=false (CMakeLists.txt) so the tap sums round as on the CPU. One thread per output element, grid-stride.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "corrupt/blur.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Gaussian: pass 0 writes the H pass of src into dst, pass 1 the W pass of src into dst, clipped (quantize = false)
// or truncated to 8-bit levels (quantize = true, glass blur).
__global__ void gauss_kernel(BlurParams p, const float* src, float* dst, int pass, bool quantize) {
  const int64_t hw = p.plane();
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pl = t / hw;
    const int64_t y = (t % hw) / p.w;
    const int64_t x = t % p.w;
    if (pass == 0) {
      dst[t] = gauss_pass(src + pl * hw, p.h, p.w, y, x, p.weights, p.n_weights, true);
    } else {
      const float v = gauss_pass(src + pl * hw, p.h, p.w, y, x, p.weights, p.n_weights, false);
      dst[t] = quantize ? quantize_u8(v) : blur_clip01(v);
    }
  }
}

__global__ void pointwise_kernel(BlurParams p) {
  const int64_t hw = p.plane();
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pl = t / hw;
    const int64_t y = (t % hw) / p.w;
    const int64_t x = t % p.w;
    const float* plane = p.x + pl * hw;
    if (p.op == BlurOp::Correlate) {
      p.out[t] = blur_clip01(correlate_at(plane, p.h, p.w, y, x, p.weights, p.kh, p.kw));
    } else if (p.op == BlurOp::Motion) {
      const int32_t* off = p.offsets + (pl / p.c) * p.n_weights * 2;
      p.out[t] = motion_at(plane, p.h, p.w, y, x, p.weights, off, p.n_weights);
    } else {
      p.out[t] = zoom_at(plane, p.h, p.w, y, x, p.weights, p.n_weights);
    }
  }
}

// Glass-blur shuffle: one thread per image running the sequential loop of glass_shuffle in the reference order
// (each step reads pixels earlier steps may have changed, so an image cannot be split across threads).
__global__ void glass_shuffle_kernel(BlurParams p, float* img) {
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < p.b;
       b += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    glass_shuffle(img + b * p.image(), p.c, p.h, p.w, p.delta, p.iterations, p.seed,
                  glass_stream(p.index_offset, b, p.severity));
  }
}

}  // namespace

void corrupt_blur_cuda(const BlurParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t total = p.b * p.image();
  const unsigned grid = grid_for(total, kThreads);
  if (p.op == BlurOp::Gaussian) {
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.x, p.tmp, 0, false);
    PR_CUDA_CHECK(cudaGetLastError());
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.tmp, p.out, 1, false);
  } else if (p.op == BlurOp::Glass) {  // x -> tmp -> work (8 bit) -> shuffle work -> tmp -> out
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.x, p.tmp, 0, false);
    PR_CUDA_CHECK(cudaGetLastError());
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.tmp, p.work, 1, true);
    PR_CUDA_CHECK(cudaGetLastError());
    glass_shuffle_kernel<<<grid_for(p.b, 64), 64, 0, s>>>(p, p.work);
    PR_CUDA_CHECK(cudaGetLastError());
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.work, p.tmp, 0, false);
    PR_CUDA_CHECK(cudaGetLastError());
    gauss_kernel<<<grid, kThreads, 0, s>>>(p, p.tmp, p.out, 1, false);
  } else {
    pointwise_kernel<<<grid_for(total, kThreads), kThreads, 0, s>>>(p);
  }
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
