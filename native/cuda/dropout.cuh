// Dropout with the counter-based mask of src/engine/js/dropout.ts: element i of a call with seeds
// (s0, s1) is dropped iff fmix32(fmix32(i + s0) ⊕ s1) < threshold = ⌊p·2³²⌋ (MurmurHash3's
// finaliser, uint32 arithmetic), else scaled by keep = 1/(1 − p). The product is formed in double
// and rounded once, as the js reference does, so the outputs are bit-identical to it.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

__device__ __forceinline__ uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

__global__ void dropout_kernel(const float* x, float* out, int64_t n, uint32_t threshold, double keep, uint32_t s0, uint32_t s1) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const uint32_t u = fmix32(fmix32(static_cast<uint32_t>(i) + s0) ^ s1);
    out[i] = u < threshold ? 0.0f : static_cast<float>(static_cast<double>(x[i]) * keep);
  }
}

}  // namespace cbdm_cuda
