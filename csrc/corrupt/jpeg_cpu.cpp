// CPU loop of jpeg_compression (math in jpeg.h): one image per work item, so any thread count gives the same result.
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/jpeg.h"

namespace pyrepair {

void jpeg_cpu(const JpegParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  const int64_t hw = p.plane();
  double d[128];
  jpeg_dct_matrix(d);
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> planes(static_cast<size_t>(p.c * hw));
    std::vector<uint8_t> luma(static_cast<size_t>(hw));
    std::vector<uint8_t> chroma(static_cast<size_t>(p.c == 3 ? 2 * p.ch() * p.cw() : 1));
    const int64_t blocks = p.blocks();
    for (int64_t img = begin; img < end; ++img) {
      for (int64_t k = 0; k < hw; ++k) jpeg_encode_pixel(p, img, k, planes.data());
      for (int64_t blk = 0; blk < blocks; ++blk) {
        jpeg_block_roundtrip(p, blk, planes.data(), luma.data(), chroma.data(), d);
      }
      for (int64_t k = 0; k < hw; ++k) jpeg_decode_pixel(p, img, k, luma.data(), chroma.data());
    }
  });
}

}  // namespace pyrepair
