// Non-owning views of contiguous buffers handed over from Python (numpy views of torch storage, or device
// pointers). No pybind11 or torch types: kernels see raw pointers and sizes only (STYLE rule 2).
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

// A contiguous (B, C, H, W) float32 image batch.
struct ImageView {
  float* data;  // base pointer, row-major NCHW
  int64_t b;    // batch size
  int64_t c;    // channels
  int64_t h;    // height
  int64_t w;    // width
  PR_HD int64_t plane() const { return h * w; }
  PR_HD int64_t image() const { return c * h * w; }
  PR_HD float* at(int64_t n, int64_t ch) const { return data + n * image() + ch * plane(); }
};

// A contiguous (rows, cols) float32 matrix.
struct MatrixView {
  float* data;    // base pointer, row-major
  int64_t rows;   // number of rows
  int64_t cols;   // number of columns
  PR_HD float& operator()(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

}  // namespace pyrepair
