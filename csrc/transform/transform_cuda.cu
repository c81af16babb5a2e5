// CUDA kernels of the `transform` family: same per-element math as the CPU loops (transform.h), launched on the
// torch stream handed over from Python, on the tensors' device.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "transform/transform.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// One thread per output pixel (p, n, y, x), looping over channels. Linear order x, y, p, n (fastest first): the P
// variants of one source image run in neighbouring blocks, so the source is read from DRAM about once and then
// served by L2 for the other variants; writes are coalesced along x.
template <Sampler S>
__global__ void warp_kernel(WarpParams p) {
  const int64_t total = p.n * p.variants * p.h * p.w;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    warp_thread<S>(p, i);
}

// One block per (image, channel) plane: shared 256-bin histogram (when the op needs one), the lookup table built by
// one thread with the shared point_lut, then the table applied by the whole block.
__global__ void point_kernel(PointParams p) {
  __shared__ unsigned int hist[256];
  __shared__ int lut[256];
  __shared__ float lutf[256];
  const int64_t plane = p.h * p.w;
  const int64_t planes = p.b * p.c;
  const bool need_hist = point_needs_histogram(p.op);
  for (int64_t pl = blockIdx.x; pl < planes; pl += gridDim.x) {
    const float* src = p.src + pl * plane;
    float* out = p.out + pl * plane;
    for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0u;
    __syncthreads();
    if (need_hist)
      for (int64_t i = threadIdx.x; i < plane; i += blockDim.x) atomicAdd(&hist[level_of(src[i])], 1u);
    __syncthreads();
    if (threadIdx.x == 0) {
      point_lut(p.op, p.param[pl / p.c], hist, lut);
      for (int i = 0; i < 256; ++i) lutf[i] = static_cast<float>(lut[i]) / 255.0f;
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < plane; i += blockDim.x) out[i] = lutf[level_of(src[i])];
    __syncthreads();  // the next plane reuses the shared tables
  }
}

// Color, Brightness, Sharpness: one thread per pixel (n, y, x), looping over channels.
__global__ void enhance_pixel_kernel(EnhanceParams p) {
  const int64_t plane = p.h * p.w;
  const int64_t total = p.b * plane;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t n = i / plane, r = i % plane;
    const int64_t y = r / p.w, x = r % p.w;
    const float* img = p.src + n * p.c * plane;
    float* out = p.out + n * p.c * plane;
    const float f = p.factor[n];
    for (int64_t ch = 0; ch < p.c; ++ch)
      out[ch * plane + r] = blend(img[ch * plane + r], enhance_degenerate(p, img, ch, y, x), f);
  }
}

// Contrast: one block per image: block-wide float64 sum of the luminance, then the blend with the mean grey.
__global__ void enhance_contrast_kernel(EnhanceParams p) {
  __shared__ double partial[kThreads];
  __shared__ float grey;
  const int64_t plane = p.h * p.w;
  const int64_t image = p.c * plane;
  for (int64_t n = blockIdx.x; n < p.b; n += gridDim.x) {
    const float* img = p.src + n * image;
    float* out = p.out + n * image;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < plane; i += blockDim.x)
      sum += static_cast<double>(pixel_luma(img, p.c, plane, i));
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (static_cast<int>(threadIdx.x) < s) partial[threadIdx.x] += partial[threadIdx.x + s];
      __syncthreads();
    }
    if (threadIdx.x == 0) grey = static_cast<float>(partial[0] / static_cast<double>(plane));
    __syncthreads();
    const float f = p.factor[n];
    for (int64_t i = threadIdx.x; i < image; i += blockDim.x) out[i] = blend(img[i], grey, f);
    __syncthreads();  // `partial` and `grey` are reused by the next image
  }
}

cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

// Blocks for one block per work item (plane or image), capped: the kernels loop over the rest.
unsigned blocks_for_items(int64_t items) {
  const int64_t cap = 65535 * 8;
  return static_cast<unsigned>(items < 1 ? 1 : (items > cap ? cap : items));
}

}  // namespace

void warp_cuda(const WarpParams& p, uintptr_t stream, int device) {
  const int64_t total = p.n * p.variants * p.h * p.w;
  if (total <= 0 || p.c <= 0) return;
  DeviceGuard guard(device);
  const unsigned blocks = grid_for(total, kThreads);
  if (p.sampler == Sampler::Zeros) {
    warp_kernel<Sampler::Zeros><<<blocks, kThreads, 0, as_stream(stream)>>>(p);
  } else {
    warp_kernel<Sampler::Pil><<<blocks, kThreads, 0, as_stream(stream)>>>(p);
  }
  PR_CUDA_CHECK(cudaGetLastError());
}

void point_cuda(const PointParams& p, uintptr_t stream, int device) {
  const int64_t planes = p.b * p.c;
  if (planes <= 0 || p.h * p.w <= 0) return;
  DeviceGuard guard(device);
  point_kernel<<<blocks_for_items(planes), kThreads, 0, as_stream(stream)>>>(p);
  PR_CUDA_CHECK(cudaGetLastError());
}

void enhance_cuda(const EnhanceParams& p, uintptr_t stream, int device) {
  const int64_t plane = p.h * p.w;
  if (p.b <= 0 || p.c <= 0 || plane <= 0) return;
  DeviceGuard guard(device);
  if (p.op == EnhanceOp::Contrast) {
    enhance_contrast_kernel<<<blocks_for_items(p.b), kThreads, 0, as_stream(stream)>>>(p);
  } else {
    enhance_pixel_kernel<<<grid_for(p.b * plane, kThreads), kThreads, 0, as_stream(stream)>>>(p);
  }
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
