// CPU loops of snow and frost (math in snowfrost.h). Snow: one image per work item (the layer and its motion blur
// need the whole image); frost: one plane per work item. The result does not depend on the thread count.
#include <cstdint>
#include <vector>

#include "common/device_path.h"
#include "common/parallel.h"
#include "corrupt/snowfrost.h"

namespace pyrepair {

void corrupt_snow_cpu(const SnowParams& p) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  if (device_path()) {  // snowfrost_cuda.cu's two launches, a host layer in place of p.layer
    std::vector<float> layers(static_cast<size_t>(p.b * p.h * p.w));
    host_launch(p.b * p.h * p.w, [&](int64_t t) { snow_layer_thread(p, layers.data(), t); });
    host_launch(p.b * p.h * p.w, [&](int64_t t) { snow_blend_thread(p, layers.data(), t); });
    return;
  }
  const int64_t hw = p.h * p.w;
  std::vector<ZoomAxis> zy(static_cast<size_t>(p.h)), zx(static_cast<size_t>(p.w));
  for (int64_t y = 0; y < p.h; ++y) zy[y] = zoom_axis(y, p.h, p.zoom);
  for (int64_t x = 0; x < p.w; ++x) zx[x] = zoom_axis(x, p.w, p.zoom);
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> raw(static_cast<size_t>(hw)), layer(static_cast<size_t>(hw)), streak(static_cast<size_t>(hw));
    for (int64_t img = begin; img < end; ++img) {
      const uint64_t stream = snow_stream(p.index_offset, img, p.severity);
      for (int64_t blk = 0; blk * 4 < hw; ++blk) {
        const Philox4 r = philox_block(p.seed, stream, static_cast<uint64_t>(blk));
        float v[4];
        random_block_values(r, Distribution::Normal, v);
        for (int k = 0; k < 4 && blk * 4 + k < hw; ++k) raw[blk * 4 + k] = v[k] * p.std + p.mean;
      }
      for (int64_t y = 0; y < p.h; ++y) {
        const ZoomAxis& ay = zy[y];
        const float* r0 = raw.data() + ay.i0 * p.w;
        const float* r1 = raw.data() + ay.i1 * p.w;
        for (int64_t x = 0; x < p.w; ++x) {
          const ZoomAxis& ax = zx[x];
          layer[y * p.w + x] = snow_layer_value(p, ay, ax, r0[ax.i0], r0[ax.i1], r1[ax.i0], r1[ax.i1]);
        }
      }
      const int32_t* off = p.offsets + img * p.n_weights * 2;
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t x = 0; x < p.w; ++x) {
          streak[y * p.w + x] = motion_at(layer.data(), p.h, p.w, y, x, p.weights, off, p.n_weights);
        }
      }
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t x = 0; x < p.w; ++x) snow_blend(p, img, y, x, streak[y * p.w + x], streak[hw - 1 - (y * p.w + x)]);
      }
    }
  });
}

void corrupt_frost_cpu(const FrostParams& p) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  if (device_path()) return host_launch(p.b * p.c * p.h * p.w, [&](int64_t t) { frost_thread(p, t); });
  const int64_t hw = p.h * p.w;
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const int64_t img = pl / p.c, ch = pl % p.c;
      const int64_t* cr = p.crops + img * 5;
      const int64_t th = cr[1], tw = cr[2];
      const float* tex = p.texture + cr[0] + (p.c == 3 ? ch : 3) * th * tw;
      const float* xs = p.x + pl * hw;
      float* o = p.out + pl * hw;
      int64_t ty = cr[3] % th;
      for (int64_t y = 0; y < p.h; ++y) {
        const float* trow = tex + ty * tw;
        int64_t tx = cr[4] % tw;
        for (int64_t x = 0; x < p.w; ++x) {
          o[y * p.w + x] = frost_blend(p, xs[y * p.w + x], trow[tx]);
          if (++tx == tw) tx = 0;
        }
        if (++ty == th) ty = 0;
      }
    }
  });
}

}  // namespace pyrepair
