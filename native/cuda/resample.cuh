// Nearest 2× upsampling and its adjoint (src/engine/js/upsample.ts); planes P = N·C.
//   y(P×2H×2W)[p, 2i+a, 2j+b] = x(P×H×W)[p, i, j]      gx[p,i,j] = Σ_{a,b∈{0,1}} gy[p, 2i+a, 2j+b]
// One output element per thread in both directions (the backward gathers its four taps).
#pragma once
#include "launch.h"

namespace cbdm_cuda {

__global__ void upsample_nearest2x_forward_kernel(const float* x, float* y, int64_t P, int64_t H, int64_t W) {
  const int64_t W2 = 2 * W, total = P * 4 * H * W;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t j2 = k % W2, i2 = (k / W2) % (2 * H), p = k / (W2 * 2 * H);
    y[k] = x[(p * H + i2 / 2) * W + j2 / 2];
  }
}

__global__ void upsample_nearest2x_backward_kernel(const float* gy, float* gx, int64_t P, int64_t H, int64_t W) {
  const int64_t W2 = 2 * W, total = P * H * W;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t j = k % W, i = (k / W) % H, p = k / (W * H);
    const float* g = gy + (p * 2 * H + 2 * i) * W2 + 2 * j;
    gx[k] = g[0] + g[1] + g[W2] + g[W2 + 1];
  }
}

}  // namespace cbdm_cuda
