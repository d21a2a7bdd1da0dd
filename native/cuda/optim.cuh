// Optimiser kernels over the flat parameter arena (src/engine/js/optim.ts): one launch updates
// every parameter of the model.
//   Adam (torch.optim.Adam, non-fused, non-amsgrad, L2 weight decay):
//     g ← g + wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − stepSize·m/(√v/√bc2 + eps)
//   with stepSize = lr/(1−β1^t) and √bc2 = √(1−β2^t) computed on the host in float64.
//   EMA (pytorch-ddpm ema()): e ← decay·e + (1−decay)·p.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, float beta1, float beta2, float eps,
                            float weightDecay, float stepSize, float sqrtBc2) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float gi = g[i] + weightDecay * p[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - stepSize * mi / (sqrtf(vi) / sqrtBc2 + eps);
  }
}

__global__ void ema_kernel(float* ema, const float* p, int64_t n, float decay) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    ema[i] = decay * ema[i] + (1.0f - decay) * p[i];
}

}  // namespace cbdm_cuda
