// CPU-only: PR_CLONES marks a hot loop for function multi-versioning (AVX-512 and AVX2 clones next to the baseline
// one, picked at load time by the CPU), so wheels built for baseline x86-64 still run vectorised on newer machines.
// The files that use it are compiled with -ffp-contract=off (CMakeLists.txt), so no clone contracts a * b + c into
// an FMA and every clone computes the same bits as the baseline code (division, sqrt, min/max selects are exact).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__) && defined(__linux__)
#define PR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PR_CLONES
#endif
