// CPU-only helpers of the corruption kernels: PR_CLONES marks a hot loop for function multi-versioning (an AVX2
// clone next to the baseline one, picked at load time by the CPU), so wheels built for baseline x86-64 still run
// vectorised on AVX2 machines. The clones are compiled with the same -ffp-contract=off as the rest of the file and
// "avx2" does not enable FMA, so every clone computes the same bits as the baseline code.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__) && defined(__linux__)
#define PR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PR_CLONES
#endif
