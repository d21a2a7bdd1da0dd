// Embedding lookup and its gradient (src/engine/js/embedding.ts):
//   w V×D, ids N (device int32, checked in [0, V) by the caller), y N×D: y[n,:] = w[ids[n],:]
// The backward gives each (v, d) of gw to one thread that sums the rows with ids[n] = v in n order:
// deterministic and atomic-free (V is the class count plus one, small).
#pragma once
#include "launch.h"

namespace cbdm_cuda {

__global__ void embedding_forward_kernel(const float* w, const int32_t* ids, int64_t N, int64_t D, float* y) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < N * D; k += stride) {
    const int64_t n = k / D;
    y[k] = w[static_cast<int64_t>(ids[n]) * D + (k - n * D)];
  }
}

__global__ void embedding_backward_kernel(const float* gy, const int32_t* ids, int64_t N, int64_t V, int64_t D, float* gw) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < V * D; k += stride) {
    const int64_t v = k / D, d = k - v * D;
    float s = 0.0f;
    for (int64_t n = 0; n < N; n++) if (ids[n] == v) s += gy[n * D + d];
    gw[k] = s;
  }
}

}  // namespace cbdm_cuda
