// CPU loops of snow and frost (math in snowfrost.h). One image per work item (snow: the layer and its motion blur
// need the whole image); the result does not depend on the thread count.
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/snowfrost.h"

namespace pyrepair {

void corrupt_snow_cpu(const SnowParams& p) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  const int64_t hw = p.h * p.w;
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> raw(static_cast<size_t>(hw));
    std::vector<float> layer(static_cast<size_t>(hw));
    for (int64_t img = begin; img < end; ++img) {
      const uint64_t stream = snow_stream(p.index_offset, img, p.severity);
      for (int64_t blk = 0; blk * 4 < hw; ++blk) {
        const Philox4 r = philox_block(p.seed, stream, static_cast<uint64_t>(blk));
        float v[4];
        random_block_values(r, Distribution::Normal, v);
        for (int k = 0; k < 4 && blk * 4 + k < hw; ++k) raw[blk * 4 + k] = v[k] * p.std + p.mean;
      }
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t x = 0; x < p.w; ++x) layer[y * p.w + x] = snow_layer_at(p, raw.data(), stream, y, x);
      }
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t x = 0; x < p.w; ++x) snow_pixel(p, layer.data(), img, y, x);
      }
    }
  });
}

void corrupt_frost_cpu(const FrostParams& p) {
  if (p.b <= 0 || p.c * p.h * p.w <= 0) return;
  parallel_for(p.b * p.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const int64_t img = pl / p.c, ch = pl % p.c;
      float* o = p.out + pl * p.h * p.w;
      for (int64_t y = 0; y < p.h; ++y) {
        for (int64_t x = 0; x < p.w; ++x) o[y * p.w + x] = frost_value(p, img, ch, y, x);
      }
    }
  });
}

}  // namespace pyrepair
