// Kernel family `corrupt`: snow and frost (spec/deeprepair.md §C.2 items 8 and 9, §C.3), batched over float32
// (B, C, H, W) images in [0, 1], C in {1, 3}. The torch oracle and the full definition are in
// pyrepair/corrupt/_snowfrost.py.
//
// Division of labour (as motion blur, blur.h): Python resolves what needs trigonometry or table look-ups once per
// call - the snow streak filter (ImageMagick motion-blur weights + per-image integer offsets from the Philox angle)
// and, for frost, the procedural texture buffer plus each image's (slot offset, Th, Tw, top, left) drawn from
// Philox - and the kernels apply them. The snow layer's normals are drawn here: element i = y * W + x of image b
// is Box-Muller on block i / 4 of the stream ((index_offset + b) * 32 + 8) * 8 + severity (random.h), so results
// never depend on the batch, the thread count or the device.
//
// Float discipline: compiled without FMA contraction (-ffp-contract=off / --fmad=false), float32 operations in the
// reference's order. Frost is bit-identical to the reference; snow up to libm ULPs of logf/sinf/cosf in the normals
// (visible only where they move the layer across the threshold or an 8-bit truncation step).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/macros.h"
#include "common/rng.h"
#include "corrupt/blur.h"
#include "random/random.h"

namespace pyrepair {

struct SnowParams {
  const float* x;          // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;              // output, same shape; may not alias x
  float* layer;            // CUDA: scratch (B, H, W) for the quantised snow layer; the CPU allocates its own
  int64_t b;               // batch size
  int64_t c;               // channels (1 or 3)
  int64_t h;               // height
  int64_t w;               // width
  float mean;              // layer mean mu
  float std;               // layer standard deviation
  float zoom;              // clipped_zoom factor (>= 1 in the tables; 1 = identity)
  float threshold;         // layer values below this become 0
  float blend;             // weight b of the image in the greyish blend
  const float* weights;    // motion-blur taps (n_weights)
  int64_t n_weights;       // K = 2 ceil(R) + 1
  const int32_t* offsets;  // (B, n_weights, 2) int32 (dy, dx)
  uint64_t seed;           // Philox key
  uint64_t index_offset;   // global index of image 0
  int severity;            // RNG key part
};

struct FrostParams {
  const float* x;          // input (B, C, H, W), contiguous float32 in [0, 1]
  float* out;              // output, same shape; may not alias x
  int64_t b;               // batch size
  int64_t c;               // channels (1 or 3)
  int64_t h;               // height
  int64_t w;               // width
  float image_weight;      // a
  float frost_weight;      // f
  const float* texture;    // packed textures, each (4, Th, Tw) float32 levels 0..255 (R, G, B, luminance)
  const int64_t* crops;    // (B, 5): offset into `texture`, Th, Tw, top, left
};

PR_HD uint64_t snow_stream(uint64_t index_offset, int64_t image, int severity) {
  return corruption_stream(index_offset, image, CorruptionId::Snow, severity);
}

// Layer value mu + std * n_i of element i (before the zoom).
PR_HD float snow_raw(const SnowParams& p, uint64_t stream, int64_t i) {
  const Philox4 r = philox_block(p.seed, stream, static_cast<uint64_t>(i >> 2));
  float v[4];
  random_block_values(r, Distribution::Normal, v);
  return v[i & 3] * p.std + p.mean;
}

// Zoomed (bilinear, weights of zoom_axis), thresholded, 8-bit-truncated layer value from its four source values.
PR_HD float snow_layer_value(const SnowParams& p, const ZoomAxis& ay, const ZoomAxis& ax, float v00, float v01,
                             float v10, float v11) {
  const float ly0 = 1.f - ay.l1;
  const float lx0 = 1.f - ax.l1;
  const float top = lx0 * v00 + ax.l1 * v01;
  const float bot = lx0 * v10 + ax.l1 * v11;
  float v = ly0 * top + ay.l1 * bot;
  if (v < p.threshold) v = 0.f;
  return quantize_u8(v);
}

// The layer at (y, x), drawing the four source normals directly (CUDA; Philox is counter-based).
PR_HD float snow_layer_at(const SnowParams& p, uint64_t stream, int64_t y, int64_t x) {
  const ZoomAxis ay = zoom_axis(y, p.h, p.zoom);
  const ZoomAxis ax = zoom_axis(x, p.w, p.zoom);
  const float v00 = snow_raw(p, stream, ay.i0 * p.w + ax.i0);
  const float v01 = snow_raw(p, stream, ay.i0 * p.w + ax.i1);
  const float v10 = snow_raw(p, stream, ay.i1 * p.w + ax.i0);
  const float v11 = snow_raw(p, stream, ay.i1 * p.w + ax.i1);
  return snow_layer_value(p, ay, ax, v00, v01, v10, v11);
}

// Output of pixel (y, x) of image `img`, all channels, given the streak layer at the pixel (m) and at its
// 180-degree rotation (mr).
PR_HD void snow_blend(const SnowParams& p, int64_t img, int64_t y, int64_t x, float m, float mr) {
  const int64_t hw = p.h * p.w;
  const float* xi = p.x + img * p.c * hw + y * p.w + x;
  float* oi = p.out + img * p.c * hw + y * p.w + x;
  const float ob = 1.f - p.blend;
  float gray = xi[0];
  if (p.c == 3) gray = (xi[0] * 0.299f + xi[hw] * 0.587f) + xi[2 * hw] * 0.114f;
  const float g = gray * 1.5f + 0.5f;
  for (int64_t ch = 0; ch < p.c; ++ch) {
    const float v = xi[ch * hw];
    const float mx = v > g ? v : g;  // torch.maximum (no NaN inputs)
    const float xp = v * p.blend + mx * ob;
    oi[ch * hw] = blur_clip01((xp + m) + mr);
  }
}

// Frost blend of one value v with texture level t: clip(a * 255 v + f * t, 0, 255) / 255.
PR_HD float frost_blend(const FrostParams& p, float v, float t) {
  float o = (v * 255.f) * p.image_weight + t * p.frost_weight;
  o = o < 0.f ? 0.f : (o > 255.f ? 255.f : o);
  return o / 255.f;
}

// Frost of element (ch, y, x) of image img (crops row: offset, Th, Tw, top, left; the crop wraps: tiling).
PR_HD float frost_value(const FrostParams& p, int64_t img, int64_t ch, int64_t y, int64_t x) {
  const int64_t* cr = p.crops + img * 5;
  const int64_t th = cr[1], tw = cr[2];
  const int64_t plane = p.c == 3 ? ch : 3;
  const float t = p.texture[cr[0] + (plane * th + (cr[3] + y) % th) * tw + (cr[4] + x) % tw];
  return frost_blend(p, p.x[((img * p.c + ch) * p.h + y) * p.w + x], t);
}

// ---- thread bodies of snowfrost_cuda.cu (also the CpuPath::Device route of snowfrost_cpu.cpp) ---------------

// Snow, pass 1: thread t = layer element t % (H W) of image t / (H W) into layer (B, H, W).
PR_HD void snow_layer_thread(const SnowParams& p, float* layer, int64_t t) {
  const int64_t hw = p.h * p.w;
  const int64_t img = t / hw;
  const int64_t k = t % hw;
  layer[t] = snow_layer_at(p, snow_stream(p.index_offset, img, p.severity), k / p.w, k % p.w);
}

// Snow, pass 2: streaks (motion blur of the layer at the pixel and at its 180-degree rotation) and the blend.
PR_HD void snow_blend_thread(const SnowParams& p, const float* layers, int64_t t) {
  const int64_t hw = p.h * p.w;
  const int64_t img = t / hw;
  const int64_t k = t % hw;
  const int64_t y = k / p.w, x = k % p.w;
  const float* layer = layers + img * hw;
  const int32_t* off = p.offsets + img * p.n_weights * 2;
  const float m = motion_at(layer, p.h, p.w, y, x, p.weights, off, p.n_weights);
  const float mr = motion_at(layer, p.h, p.w, p.h - 1 - y, p.w - 1 - x, p.weights, off, p.n_weights);
  snow_blend(p, img, y, x, m, mr);
}

// Frost: thread t = one output element.
PR_HD void frost_thread(const FrostParams& p, int64_t t) {
  const int64_t hw = p.h * p.w;
  const int64_t pl = t / hw;
  const int64_t k = t % hw;
  p.out[t] = frost_value(p, pl / p.c, pl % p.c, k / p.w, k % p.w);
}

// Entry points: snowfrost_cpu.cpp (OpenMP over images), snowfrost_cuda.cu.
void corrupt_snow_cpu(const SnowParams& p);
void corrupt_frost_cpu(const FrostParams& p);
#if PYREPAIR_WITH_CUDA
void corrupt_snow_cuda(const SnowParams& p, uintptr_t stream, int device);
void corrupt_frost_cuda(const FrostParams& p, uintptr_t stream, int device);
#endif

}  // namespace pyrepair
