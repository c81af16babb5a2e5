// The RNG stream of one image of a corruption call, shared by every corruption kernel (CPU and CUDA) and mirrored
// by pyrepair/corrupt/reference.py image_streams.
//
// Philox 4x32-10 (common/rng.h), key = the user's seed; image b of a call draws from the 64-bit stream
//   ((index_offset + b) * 32 + corruption id) * 8 + severity            (wraps mod 2^64)
// so a draw depends on (seed, global image index, corruption, severity, block) only: not on batch composition,
// thread count or device. The ids are the spec §C.1 order (1..19; < 32) and part of the key: never renumber.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace pyrepair {

enum class CorruptionId : int {
  GaussianNoise = 1,
  ShotNoise = 2,
  ImpulseNoise = 3,
  DefocusBlur = 4,
  GlassBlur = 5,
  MotionBlur = 6,
  ZoomBlur = 7,
  Snow = 8,
  Frost = 9,
  Fog = 10,
  Brightness = 11,
  Contrast = 12,
  ElasticTransform = 13,
  Pixelate = 14,
  JpegCompression = 15,
  SpeckleNoise = 16,
  GaussianBlur = 17,
  Spatter = 18,
  Saturate = 19,
};

// The stream of image `image` of a call whose first image has global index `index_offset`.
PR_HD uint64_t corruption_stream(uint64_t index_offset, int64_t image, CorruptionId id, int severity) {
  return ((index_offset + static_cast<uint64_t>(image)) * 32u + static_cast<uint64_t>(id)) * 8u +
         static_cast<uint64_t>(severity);
}

}  // namespace pyrepair
