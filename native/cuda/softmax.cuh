// Softmax family over the K axis of x viewed as O×K×I (src/engine/js/softmax.ts): one thread per
// (o, i) line, max-subtracted, sums in float64. Cross-entropy's log-softmax is the I = 1 case.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

__global__ void softmax_forward_kernel(const float* x, float* y, int64_t O, int64_t K, int64_t I, int log) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t line = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; line < O * I; line += stride) {
    const int64_t o = line / I, i = line - o * I;
    const float* xl = x + o * K * I + i;
    float* yl = y + o * K * I + i;
    float m = -INFINITY;
    for (int64_t k = 0; k < K; k++) m = xl[k * I] > m ? xl[k * I] : m;
    double z = 0.0;
    for (int64_t k = 0; k < K; k++) z += exp(static_cast<double>(xl[k * I] - m));
    if (log) {
      const double lz = static_cast<double>(m) + ::log(z);
      for (int64_t k = 0; k < K; k++) yl[k * I] = static_cast<float>(xl[k * I] - lz);
    } else {
      for (int64_t k = 0; k < K; k++) yl[k * I] = static_cast<float>(exp(static_cast<double>(xl[k * I] - m)) / z);
    }
  }
}

// softmax: gx = y⊙(gy − Σ_K gy⊙y);  log-softmax: gx = gy − exp(y)·Σ_K gy.
__global__ void softmax_backward_kernel(const float* y, const float* gy, float* gx, int64_t O, int64_t K, int64_t I, int log) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t line = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; line < O * I; line += stride) {
    const int64_t o = line / I, i = line - o * I;
    const int64_t base = o * K * I + i;
    double s = 0.0;
    for (int64_t k = 0; k < K; k++) s += log ? gy[base + k * I] : static_cast<double>(gy[base + k * I]) * y[base + k * I];
    const float sf = static_cast<float>(s);
    for (int64_t k = 0; k < K; k++) {
      const int64_t j = base + k * I;
      gx[j] = log ? gy[j] - expf(y[j]) * sf : y[j] * (gy[j] - sf);
    }
  }
}

// Cross-entropy backward (src/engine/js/softmax.ts): gx(N×K) = scale·(exp(logp) − onehot(labels)).
__global__ void cross_entropy_backward_kernel(const float* logp, const int32_t* labels, float scale, float* gx, int64_t N, int64_t K) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < N * K; k += stride) {
    const int64_t n = k / K;
    gx[k] = scale * expf(logp[k]) - (labels[n] == k - n * K ? scale : 0.0f);
  }
}

}  // namespace cbdm_cuda
