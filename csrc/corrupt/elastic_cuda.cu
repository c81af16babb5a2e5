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
  const int64_t total = p.b * 2 * p.plane();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    elastic_rows_thread(p, wts, radius, tmp, t);
}

// Axis-1 (column) pass, times alpha.
__global__ void elastic_cols_kernel(ElasticParams p, const double* wts, int64_t radius, const double* tmp,
                                    double* field) {
  const int64_t total = p.b * 2 * p.plane();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    elastic_cols_thread(p, wts, radius, tmp, field, t);
}

// One thread per output element.
__global__ void elastic_sample_kernel(ElasticParams p, const double* field) {
  const int64_t total = p.b * p.image();
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(blockDim.x) * gridDim.x)
    elastic_sample_thread(p, field, t);
}

}  // namespace

void elastic_cuda(const ElasticParams& p, uintptr_t stream, int device) {
  if (p.b <= 0 || p.image() <= 0) return;
  DeviceGuard guard(device);
  const cudaStream_t s = reinterpret_cast<cudaStream_t>(stream);
  const int64_t radius = elastic_radius(p.sigma);
  const std::vector<double> wts = elastic_gauss_weights(p.sigma, radius);
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
