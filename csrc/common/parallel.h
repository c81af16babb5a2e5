// parallel_for(n, grain, fn): calls fn(begin, end) on disjoint chunks covering [0, n), in parallel with OpenMP
// when the build has it, serially otherwise. Chunks are fixed by (n, grain), never by the thread count, so a
// kernel that writes each output from its own index gives the same result for any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/macros.h"

#if PYREPAIR_WITH_OPENMP
#include <omp.h>
#endif

namespace pyrepair {

template <typename F>
void parallel_for(int64_t n, int64_t grain, const F& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
#if PYREPAIR_WITH_OPENMP
  if (chunks > 1 && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * grain;
      fn(begin, std::min(n, begin + grain));
    }
    return;
  }
#endif
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * grain;
    fn(begin, std::min(n, begin + grain));
  }
}

inline int max_threads() {
#if PYREPAIR_WITH_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline void set_max_threads(int n) {
#if PYREPAIR_WITH_OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace pyrepair
