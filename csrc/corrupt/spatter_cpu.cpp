// CPU loop of spatter (math in spatter.h): one image per work item (OpenMP over the batch).
#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "corrupt/spatter.h"

namespace pyrepair {

void spatter_cpu(const SpatterParams& p) {
  if (p.b <= 0 || p.image() <= 0) return;
  const int64_t n = p.plane();
  parallel_for(p.b, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> buf(static_cast<size_t>((kSpatterBytesPerPixel * n + 7) / 8));
    const SpatterScratch s = spatter_scratch(reinterpret_cast<unsigned char*>(buf.data()), n);
    for (int64_t img = begin; img < end; ++img) spatter_image(p, img, s);
  });
}

}  // namespace pyrepair
