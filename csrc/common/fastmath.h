// Vectorisable float32 log and sin/cos of 2*pi*u (Cephes single-precision minimax polynomials, S. L. Moshier) and
// float64 log and log k!, built from +, -, *, / (IEEE, correctly rounded), bit moves and exact int/float
// conversions only, so that a compiler can vectorise loops over them
// and a torch reference written with the same operations in the same order (pyrepair/corrupt/reference.py:
// fm_log, fm_sincos_2pi) reproduces them bit for bit. Compile without FMA contraction (-ffp-contract=off on the
// host, --fmad=false on the device). Accuracy: a few ULP (tests/test_fastmath.py checks them against torch float64).
#pragma once

#include <cstdint>
#include <cstring>

#include "common/macros.h"

namespace pyrepair {

PR_HD int32_t fm_float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(x);
#else
  int32_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
#endif
}

PR_HD float fm_bits_float(int32_t i) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(i);
#else
  float x;
  std::memcpy(&x, &i, sizeof x);
  return x;
#endif
}

// Natural log of a positive, normal, finite float32 x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact),
// log x = f - f^2/2 + f^3 P(f) + e log 2 (log 2 split in two parts). Not for 0, subnormals, inf or NaN.
PR_HD float fm_log(float x) {
  const int32_t bits = fm_float_bits(x);
  const int32_t e0 = ((bits >> 23) & 0xff) - 126;                    // x = m0 2^e0, m0 in [0.5, 1)
  const float m0 = fm_bits_float((bits & 0x7fffff) | 0x3f000000);
  const bool low = m0 < 0.70710678118654752440f;
  const float f = low ? (m0 + m0) - 1.0f : m0 - 1.0f;  // exact (Sterbenz)
  const float e = static_cast<float>(low ? e0 - 1 : e0);
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = (y * f) * z;
  y = y + e * -2.12194440e-4f;
  y = y - z * 0.5f;
  const float r = f + y;
  return r + e * 0.693359375f;
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1]: v = 4u (exact), q = nearest integer (quadrant), f = v - q in
// [-1/2, 1/2] (exact), angle a = f pi/2 in [-pi/4, pi/4] (one rounding), minimax polynomials, quadrant swap.
PR_HD void fm_sincos_2pi(float u, float* s_out, float* c_out) {
  const float v = u * 4.0f;
  const int32_t q = static_cast<int32_t>(v + 0.5f);  // v >= 0: truncation = floor
  const float f = v - static_cast<float>(q);
  const float a = f * 1.57079632679489662f;
  const float z = a * a;
  float s = -1.9515295891e-4f;
  s = s * z + 8.3321608736e-3f;
  s = s * z - 1.6666654611e-1f;
  s = (s * z) * a + a;
  float c = 2.443315711809948e-5f;
  c = c * z - 1.388731625493765e-3f;
  c = c * z + 4.166664568298827e-2f;
  c = (c * z) * z;
  c = c - z * 0.5f;
  c = c + 1.0f;
  const int32_t k = q & 3;
  const float ss = (k & 1) ? c : s;  // quadrant 0: (s, c); 1: (c, -s); 2: (-s, -c); 3: (-c, s)
  const float cc = (k & 1) ? s : c;
  *s_out = (k & 2) ? -ss : ss;
  *c_out = ((k + 1) & 2) ? -cc : cc;
}

PR_HD int64_t fm_double_bits(double x) {
#if defined(__CUDA_ARCH__)
  return __double_as_longlong(x);
#else
  int64_t i;
  std::memcpy(&i, &x, sizeof i);
  return i;
#endif
}

PR_HD double fm_bits_double(int64_t i) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(i);
#else
  double x;
  std::memcpy(&x, &i, sizeof x);
  return x;
#endif
}

// Natural log of a positive, normal, finite float64 x: x = m 2^e, m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact),
// s = f / (2 + f), log m = 2 atanh(s) = 2s (1 + s^2/3 + ... + s^22/23) (|s| < 0.1716: truncation < 1e-18),
// log 2 split in two parts (fdlibm). A few ULP. Not for 0, subnormals, inf or NaN.
PR_HD double fm_log_d(double x) {
  const int64_t bits = fm_double_bits(x);
  // biased exponent as a double without an int64 -> double conversion (exact: magic 2^52)
  const double eb = fm_bits_double(static_cast<int64_t>(0x4330000000000000LL) |
                                   static_cast<int64_t>(static_cast<uint64_t>(bits) >> 52)) -
                    4503599627370496.0;
  const double m0 = fm_bits_double((bits & 0x000FFFFFFFFFFFFFLL) | 0x3FE0000000000000LL);  // [0.5, 1)
  const bool low = m0 < 0.70710678118654752440;
  const double f = low ? (m0 + m0) - 1.0 : m0 - 1.0;  // exact (Sterbenz)
  const double e = low ? eb - 1023.0 : eb - 1022.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double q = 1.0 / 23.0;
  q = q * z + 1.0 / 21.0;
  q = q * z + 1.0 / 19.0;
  q = q * z + 1.0 / 17.0;
  q = q * z + 1.0 / 15.0;
  q = q * z + 1.0 / 13.0;
  q = q * z + 1.0 / 11.0;
  q = q * z + 1.0 / 9.0;
  q = q * z + 1.0 / 7.0;
  q = q * z + 1.0 / 5.0;
  q = q * z + 1.0 / 3.0;
  q = q * z;
  const double s2 = s + s;
  double r = s2 * q + e * 1.90821492927058770002e-10;
  r = r + s2;
  return r + e * 6.93147180369123816490e-01;
}

// k! for integer k in [0, 17], exact in float64 (17! < 2^53).
PR_HD double fm_factorial_small(int k) {
  double f = 1.0;
  for (int j = 2; j <= k; ++j) f = f * static_cast<double>(j);
  return f;
}

// log k! for integer-valued k >= 0: log of the exact k! for k <= 17, else Stirling's series at z = k + 1,
// (z - 1/2) log z - z + log(2 pi) / 2 + 1/(12 z) - 1/(360 z^3) + 1/(1260 z^5) - 1/(1680 z^7) (< 3e-15 at z = 19).
PR_HD double fm_stirling_tail(double z, double logz) {
  const double r = 1.0 / z;
  const double r2 = r * r;
  double c = -1.0 / 1680.0;
  c = c * r2 + 1.0 / 1260.0;
  c = c * r2 - 1.0 / 360.0;
  c = c * r2 + 1.0 / 12.0;
  return (((z - 0.5) * logz - z) + 0.91893853320467274178) + c * r;
}

PR_HD double fm_log_factorial(double k) {
  if (k <= 17.0) return fm_log_d(fm_factorial_small(static_cast<int>(k)));
  const double z = k + 1.0;
  return fm_stirling_tail(z, fm_log_d(z));
}

}  // namespace pyrepair
