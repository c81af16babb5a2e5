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
