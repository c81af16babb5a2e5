// Portability macros shared by every kernel family.
//
// PR_HD marks functions compiled for host and device (the per-element math that the CPU loop and the CUDA
// kernel share, STYLE rule 2). PYREPAIR_WITH_CUDA and PYREPAIR_WITH_OPENMP are always defined to 0 or 1 so that
// `#if` tests are typo-proof under -Wundef.
#pragma once

#ifndef PYREPAIR_WITH_CUDA
#define PYREPAIR_WITH_CUDA 0
#endif
#ifndef PYREPAIR_WITH_OPENMP
#define PYREPAIR_WITH_OPENMP 0
#endif

#if defined(__CUDACC__)
#define PR_HD __host__ __device__ __forceinline__
#define PR_RESTRICT __restrict__
#else
#define PR_HD inline
#if defined(__GNUC__) || defined(__clang__)
#define PR_RESTRICT __restrict__
#else
#define PR_RESTRICT
#endif
#endif
