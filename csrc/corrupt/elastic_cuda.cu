// CUDA kernels of elastic_transform (math in elastic.h): noise + axis-0 Gaussian pass, axis-1 pass, then the
// affine + displacement bilinear sampling. Compiled with --fmad=false (CMakeLists.txt).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/cuda_utils.cuh"
#include "common/rng.h"
#include "corrupt/elastic.h"

namespace pyrepair {

namespace {

constexpr int kThreads = 256;

// Field f (0 = dx, 1 = dy) of every image: noise, then the axis-0 (row) pass into tmp.
__global__ void elastic_rows_kernel(ElasticParams p, const double* wts, int64_t radius, double* tmp) {
  const int64_t hw = p.plane();
  const int64_t total = p.b * 2 * hw;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t img = t / (2 * hw);
    const int64_t f = (t / hw) % 2;
    const int64_t k = t % hw;
    const int64_t i = k / p.w, j = k % p.w;
    const uint64_t stream = elastic_stream(p, img);
    const uint64_t base = f == 0 ? kElasticDxBlock : kElasticDyBlock;
    double acc = 0.0;
    for (int64_t d = -radius; d <= radius; ++d) {
      acc += wts[d + radius] * elastic_noise(p.seed, stream, base, fold_reflect(i + d, p.h) * p.w + j);
    }
    tmp[t] = acc;
  }
}

// Axis-1 (column) pass, times alpha.
__global__ void elastic_cols_kernel(ElasticParams p, const double* wts, int64_t radius, const double* tmp,
                                    double* field) {
  const int64_t hw = p.plane();
  const int64_t total = p.b * 2 * hw;
  const double alpha = static_cast<double>(p.alpha);
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t k = t % hw;
    const int64_t row = (t - k) + (k / p.w) * p.w;
    const int64_t j = k % p.w;
    double acc = 0.0;
    for (int64_t d = -radius; d <= radius; ++d) acc += wts[d + radius] * tmp[row + fold_reflect(j + d, p.w)];
    field[t] = alpha * acc;
  }
}

// One thread per output element.
__global__ void elastic_sample_kernel(ElasticParams p, const double* field) {
  const int64_t hw = p.plane();
  const int64_t total = p.b * p.c * hw;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t pl = t / hw;
    const int64_t img = pl / p.c;
    const int64_t k = t % hw;
    double m[6];
    elastic_inverse_affine(p, elastic_stream(p, img), m);
    const double* dx = field + img * 2 * hw;
    const double* dy = dx + hw;
    p.out[t] = elastic_value(p.x + pl * hw, p.h, p.w, m, k / p.w, k % p.w, dy[k], dx[k]);
  }
}

}  // namespace

void elastic_cuda(const ElasticParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t radius = elastic_radius(p.sigma);
  std::vector<double> wts(static_cast<size_t>(2 * radius + 1), 1.0);
  if (radius > 0) {
    const double s2 = static_cast<double>(p.sigma) * static_cast<double>(p.sigma);
    double sum = 0.0;
    for (int64_t k = -radius; k <= radius; ++k) {
      const double kd = static_cast<double>(k);
      wts[static_cast<size_t>(k + radius)] = std::exp(-0.5 / s2 * (kd * kd));
      sum += wts[static_cast<size_t>(k + radius)];
    }
    for (double& v : wts) v = v / sum;
  }
  const int64_t nf = p.b * 2 * p.plane();
  const size_t bytes = (wts.size() + 2 * static_cast<size_t>(nf)) * sizeof(double);
  double* buf = nullptr;
  PR_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buf), bytes, s));
  double* dwts = buf;
  double* tmp = buf + wts.size();
  double* field = tmp + nf;
  PR_CUDA_CHECK(cudaMemcpyAsync(dwts, wts.data(), wts.size() * sizeof(double), cudaMemcpyHostToDevice, s));
  elastic_rows_kernel<<<grid_for(nf, kThreads), kThreads, 0, s>>>(p, dwts, radius, tmp);
  PR_CUDA_CHECK(cudaGetLastError());
  elastic_cols_kernel<<<grid_for(nf, kThreads), kThreads, 0, s>>>(p, dwts, radius, tmp, field);
  PR_CUDA_CHECK(cudaGetLastError());
  elastic_sample_kernel<<<grid_for(p.b * p.image(), kThreads), kThreads, 0, s>>>(p, field);
  PR_CUDA_CHECK(cudaGetLastError());
  PR_CUDA_CHECK(cudaStreamSynchronize(s));  // the host weights must outlive the copy
  PR_CUDA_CHECK(cudaFreeAsync(buf, s));
}

}  // namespace pyrepair
