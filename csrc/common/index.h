// Index helpers shared by the kernel families (host and device).
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

// Edge replicate: i clamped to [0, n - 1] (n >= 1).
PR_HD int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

}  // namespace pyrepair
