// CUDA kernels of jpeg_compression (math in jpeg.h, shared with the CPU loop): colour conversion per pixel, the
// DCT-quantise-IDCT round trip per 8 x 8 block, chroma up-sampling and colour back per pixel. Compiled with
// --fmad=false (CMakeLists.txt) so the float64 DCT sums round as on the CPU and in torch.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/cuda_utils.cuh"
#include "corrupt/jpeg.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;
constexpr int kBlockThreads = 64;  // the block kernel keeps two 64-double arrays per thread

__global__ void jpeg_encode_kernel(JpegParams p, uint8_t* planes) {
  const int64_t total = p.b * p.plane();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    jpeg_encode_thread(p, planes, t);
}

__global__ void jpeg_block_kernel(JpegParams p, const uint8_t* planes, uint8_t* luma, uint8_t* chroma) {
  __shared__ double d[128];  // jpeg_dct_matrix: D, then D transposed, filled by the block's threads
  for (int i = threadIdx.x; i < 128; i += blockDim.x) {
    const int j = i % 64;
    d[i] = i < 64 ? jpeg_dct_coef(j / 8, j % 8) : jpeg_dct_coef(j % 8, j / 8);
  }
  __syncthreads();
  const int64_t total = p.b * p.blocks();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    jpeg_block_thread(p, planes, luma, chroma, d, t);
}

__global__ void jpeg_decode_kernel(JpegParams p, const uint8_t* luma, const uint8_t* chroma) {
  const int64_t total = p.b * p.plane();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    jpeg_decode_thread(p, luma, chroma, t);
}

}  // namespace

void jpeg_cuda(const JpegParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t hw = p.plane();
  const int64_t csize = jpeg_chroma_size(p);
  const size_t n_planes = static_cast<size_t>(p.b * p.c * hw);
  const size_t n_luma = static_cast<size_t>(p.b * hw);
  const size_t n_chroma = static_cast<size_t>(p.b * csize);
  uint8_t* buf = nullptr;
  PR_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buf), n_planes + n_luma + n_chroma + 1, s));
  uint8_t* planes = buf;
  uint8_t* luma = planes + n_planes;
  uint8_t* chroma = luma + n_luma;
  jpeg_encode_kernel<<<grid_for(p.b * hw, kThreads), kThreads, 0, s>>>(p, planes);
  PR_CUDA_CHECK(cudaGetLastError());
  jpeg_block_kernel<<<grid_for(p.b * p.blocks(), kBlockThreads), kBlockThreads, 0, s>>>(p, planes, luma, chroma);
  PR_CUDA_CHECK(cudaGetLastError());
  jpeg_decode_kernel<<<grid_for(p.b * hw, kThreads), kThreads, 0, s>>>(p, luma, chroma);
  PR_CUDA_CHECK(cudaGetLastError());
  PR_CUDA_CHECK(cudaFreeAsync(buf, s));
}

}  // namespace pyrepair
