// Argument checks that throw std::invalid_argument (pybind11 turns it into ValueError, STYLE rule 4).
//
//   PR_CHECK(h % 2 == 0, "haar_dwt2d", "x must have even H, got H=", h);
//
// C++ re-checks only what could corrupt memory (ranks, sizes, contiguity); Python validated everything else.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pyrepair {

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

template <typename... Args>
[[noreturn]] void fail(const char* fn, const Args&... args) {
  std::ostringstream os;
  os << "pyrepair._core." << fn << ": ";
  detail::append(os, args...);
  throw std::invalid_argument(os.str());
}

inline std::string shape_str(const std::vector<long long>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

}  // namespace pyrepair

#define PR_CHECK(cond, fn, ...)                 \
  do {                                          \
    if (!(cond)) ::pyrepair::fail(fn, __VA_ARGS__); \
  } while (0)

namespace pyrepair {

// The image batch checks of every corruption binding: (B, C, H, W), non-negative sizes, C in {1, 3}.
inline void check_image_batch(const std::vector<long long>& shape, const char* fn) {
  PR_CHECK(shape.size() == 4, fn, "images must have shape [B, C, H, W], got ", shape_str(shape));
  for (long long s : shape) PR_CHECK(s >= 0, fn, "images must have non-negative sizes, got ", shape_str(shape));
  PR_CHECK(shape[1] == 1 || shape[1] == 3, fn, "images must have 1 or 3 channels, got shape ", shape_str(shape));
}

// A severity usable as the RNG key part (corrupt/stream.h): [0, 7].
inline void check_severity(int severity, const char* fn) {
  PR_CHECK(severity >= 0 && severity <= 7, fn, "severity must be in [0, 7] (RNG key), got ", severity);
}

}  // namespace pyrepair
