// Shot noise on 8-bit inputs: exact Poisson inversion in per-photons CDF tables (pyrepair/corrupt/reference.py
// `poisson_tables` / `_poisson_table_sample` is the torch twin, operation for operation).
//
// An element is "8-bit" when x == float(k) / 255.0f for an integer k in [0, 255] (what ToTensor / x.div(255) give)
// and photons <= kTableMaxPhotons. Its rate lam = double(x) * double(photons) is then one of 256 values fixed by
// photons alone, so the tables depend only on photons (the CPU caches the last ones; CUDA builds them on the host
// and copies them to the device). Every other element keeps corrupt.h's poisson_draw (inversion below 10, PTRS
// above). The choice depends on (x, photons) only: results stay independent of batch composition, threads, device.
//
// Table of lam (all float64, IEEE +, *, / in this order): mode m = floor(lam), q_m = 1, going up
// q_{j} = q_{j-1} * (lam / j) while q_j >= kTableTail, going down q_{j-1} = q_j * (j / lam) while q_{j-1} >=
// kTableTail (and j > 0); cdf[i] = cdf[i-1] + q_{lo+i} from the lowest kept k = lo upwards; total = cdf[len-1].
// (Unnormalised: no exp, no underflow; the dropped tails weigh < 1e-30 of the mode term.) A draw with the
// uniform u = unit53(words 0, 1 of block i * 64) (the inversion's words) is k = lo + the smallest index i with
// u * total <= cdf[i]: exact inversion of the float64 CDF (torch.searchsorted in the reference). The search is
// guided: guide[g] = first i with cdf[i] >= total * (g / G), g = 0..G (G = kTableGuide, a power of two, so g / G
// and u * G are exact). For u in [g / G, (g + 1) / G), rounding being monotone, total * (g / G) <= u * total <=
// total * ((g + 1) / G), so the answer lies in [guide[g], guide[g + 1]]: an upward walk from guide[g], bounded by
// guide[g + 1], finds it (most buckets hold one index: no comparison at all).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/macros.h"

namespace pyrepair {

constexpr float kTableMaxPhotons = 4096.0f;  // tables only for photons <= this (largest table ~1600 entries < 2^16)
constexpr double kTableTail = 1e-32;         // terms below this (mode term = 1) are dropped
constexpr int kTableGuide = 512;             // guide buckets per table (power of two)
constexpr int kTableKeys = 256;

// Table key of x: k if x == float(k) / 255.0f, else -1.
PR_HD int shot_table_key(float x) {
  if (!(x >= 0.f && x <= 1.f)) return -1;
  const int k = static_cast<int>(x * 255.0f + 0.5f);
  return static_cast<float>(k) / 255.0f == x ? k : -1;
}

// Flat view of the 256 tables (host or device memory).
struct PoissonTableView {
  const double* cdf;    // all tables back to back
  const double* total;  // [kTableKeys]: cdf[off + len - 1]
  const int32_t* info;  // [kTableKeys][3]: offset in cdf, lo (count of entry 0), len
  const uint16_t* guide;  // [kTableKeys][kTableGuide + 1]: bucket bounds
};

// Count for table `key` and the float64 uniform u in (0, 1).
PR_HD double poisson_table_sample(const PoissonTableView& t, int key, double u) {
  const uint16_t* gd = t.guide + key * (kTableGuide + 1) + static_cast<int>(u * static_cast<double>(kTableGuide));
  int32_t i = gd[0];
  const int32_t end = gd[1];
  if (i < end) {
    const double* c = t.cdf + t.info[3 * key];
    const double target = u * t.total[key];
    while (i < end && target > c[i]) ++i;
  }
  return static_cast<double>(t.info[3 * key + 1] + i);
}

// Host-side storage of the tables of one photons value.
struct PoissonTables {
  std::vector<double> cdf, total;
  std::vector<int32_t> info;
  std::vector<uint16_t> guide;
  PoissonTableView view() const { return {cdf.data(), total.data(), info.data(), guide.data()}; }
};

inline void poisson_table_one(double lam, PoissonTables& t) {
  const double mode = std::floor(lam);
  std::vector<double> down, up;  // q_{m-1}, q_{m-2}, ... and q_{m+1}, q_{m+2}, ...
  double q = 1.0;
  for (double j = mode; j > 0.0;) {
    q = q * (j / lam);
    j = j - 1.0;
    if (q < kTableTail) break;
    down.push_back(q);
  }
  q = 1.0;
  for (double j = mode + 1.0;; j = j + 1.0) {
    q = q * (lam / j);
    if (q < kTableTail) break;
    up.push_back(q);
  }
  const int32_t off = static_cast<int32_t>(t.cdf.size());
  const int32_t len = static_cast<int32_t>(down.size() + 1 + up.size());
  double s = 0.0;
  for (size_t i = down.size(); i-- > 0;) t.cdf.push_back(s = s + down[i]);
  t.cdf.push_back(s = s + 1.0);
  for (double v : up) t.cdf.push_back(s = s + v);
  t.total.push_back(s);
  t.info.push_back(off);
  t.info.push_back(static_cast<int32_t>(mode) - static_cast<int32_t>(down.size()));
  t.info.push_back(len);
  int32_t i = 0;
  for (int g = 0; g <= kTableGuide; ++g) {
    const double thr = s * (static_cast<double>(g) / static_cast<double>(kTableGuide));
    while (i < len - 1 && t.cdf[static_cast<size_t>(off + i)] < thr) ++i;
    t.guide.push_back(static_cast<uint16_t>(i));
  }
}

// The 256 tables of photons (rates double(float(k) / 255.0f) * double(photons)), photons <= kTableMaxPhotons.
inline PoissonTables poisson_tables(float photons) {
  PoissonTables t;
  for (int k = 0; k < kTableKeys; ++k) {
    const float x = static_cast<float>(k) / 255.0f;
    poisson_table_one(static_cast<double>(x) * static_cast<double>(photons), t);
  }
  return t;
}

// poisson_tables(photons), cached (the last photons value; thread-safe): noise_cpu.cpp, used by the CUDA host code.
std::shared_ptr<const PoissonTables> cached_poisson_tables(float photons);

}  // namespace pyrepair
