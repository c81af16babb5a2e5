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
  const int64_t n = p.image();
  const int64_t total = p.b * nblk;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t img = t / nblk;
    const int64_t blk = t % nblk;
    const Philox4 w = philox_block(p.seed, corrupt_stream(p, img), static_cast<uint64_t>(blk));
    const float* x = p.x + img * n;
    float* out = p.out + img * n;
    if (p.kind == Corruption::ImpulseNoise) {
      impulse_block(x, out, blk * 4, n, w, p.a);
    } else {
      normal_noise_block(x, out, blk * 4, n, w, p.a, p.kind == Corruption::SpeckleNoise);
    }
  }
}

// Shot noise: one thread per element (each element owns its Philox blocks). With tables (tv.cdf != nullptr, i.e.
// photons <= kTableMaxPhotons), 8-bit elements invert their table (poisson_table.h), as on the CPU.
__global__ void shot_kernel(CorruptParams p, PoissonTableView tv) {
  const int64_t n = p.image();
  const int64_t total = p.b * n;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const float x = p.x[t];
    const uint64_t stream = corrupt_stream(p, t / n);
    const uint64_t elem = static_cast<uint64_t>(t % n);
    const int key = tv.cdf != nullptr ? shot_table_key(x) : -1;
    if (key >= 0) {
      const Philox4 w = philox_block(p.seed, stream, elem * static_cast<uint64_t>(kPoissonBlocks));
      const double k = poisson_table_sample(tv, key, unit53(w.v[0], w.v[1]));
      p.out[t] = clip01(static_cast<float>(k) / p.a);
    } else {
      p.out[t] = shot_value(x, p.a, p.seed, stream, elem);
    }
  }
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
  const int64_t hw = p.plane();
  const int64_t total = p.b * hw;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    if (p.c == 1) {
      p.out[t] = p.kind == Corruption::Brightness ? clip01(p.x[t] + p.a) : clip01(p.x[t]);
      continue;
    }
    const int64_t img = t / hw;
    const int64_t k = t % hw;
    const float* x = p.x + img * 3 * hw + k;
    float* out = p.out + img * 3 * hw + k;
    float o[3];
    if (p.kind == Corruption::Brightness) {
      brightness_rgb(x[0], x[hw], x[2 * hw], p.a, o);
    } else {
      saturate_rgb(x[0], x[hw], x[2 * hw], p.a, p.b2, o);
    }
    out[0] = o[0];
    out[hw] = o[1];
    out[2 * hw] = o[2];
  }
}

// Contrast: one CUDA block per plane (image, channel): float64 tree reduction of the mean in shared memory, then
// the point operation on the same plane (no scratch buffer, one launch).
__global__ void contrast_kernel(CorruptParams p) {
  __shared__ double partial[kThreads];
  const int64_t hw = p.plane();
  for (int64_t pl = blockIdx.x; pl < p.b * p.c; pl += gridDim.x) {
    const float* x = p.x + pl * hw;
    float* out = p.out + pl * hw;
    double s = 0.0;
    for (int64_t k = threadIdx.x; k < hw; k += blockDim.x) s += static_cast<double>(x[k]);
    partial[threadIdx.x] = s;
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
      contrast_kernel<<<blocks, kThreads, 0, s>>>(p);
      break;
    }
  }
  PR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pyrepair
