// Group normalisation with an optional fused swish (the UNet's GroupNorm → SiLU), matching
// src/engine/js/groupnorm.ts:
//   x, y  N×C×L (L = H·W)     γ, β  C     mean, rstd  N×G     M = (C/G)·L elements per group
//   z = γ_c·(x − μ)·rstd + β_c,  rstd = 1/√(var + eps) (biased variance),  y = z or z·σ(z)
// Backward: gz = gy (· σ(z)(1 + z(1 − σ(z))) with swish), gx̂ = γ_c·gz,
//   gx = rstd·(gx̂ − mean(gx̂) − x̂·mean(gx̂·x̂)),  gγ_c = Σ gz·x̂,  gβ_c = Σ gz.
// One block per (n, g) for the statistics and gx; one block per channel for gγ, gβ.
#pragma once
#include "launch.h"
#include "reduce.cuh"

namespace cbdm_cuda {

__device__ __forceinline__ float gn_swish_grad(float z) {
  const float s = 1.0f / (1.0f + expf(-z));
  return s * (1.0f + z * (1.0f - s));
}

// grid: N·G blocks (grid-stride), block: kBlock threads.
__global__ void group_norm_forward_kernel(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                          float* rstd, int64_t N, int64_t C, int64_t L, int64_t G, float eps, int swish) {
  __shared__ double s[kBlock];
  const int64_t Cg = C / G, M = Cg * L;
  for (int64_t ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
    const int64_t n = ng / G, g = ng - n * G;
    const float* xg = x + (n * C + g * Cg) * L;
    float* yg = y + (n * C + g * Cg) * L;
    double acc = 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) acc += xg[i];
    const double mu = block_sum(acc, s) / static_cast<double>(M);
    acc = 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) { const double d = xg[i] - mu; acc += d * d; }
    const double var = block_sum(acc, s) / static_cast<double>(M);
    const float muf = static_cast<float>(mu);
    const float r = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
    if (threadIdx.x == 0) { mean[ng] = muf; rstd[ng] = r; }
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t ch = g * Cg + i / L;
      const float z = gamma[ch] * (xg[i] - muf) * r + beta[ch];
      yg[i] = swish ? z / (1.0f + expf(-z)) : z;
    }
  }
}

// gx for each (n, g) block.
__global__ void group_norm_backward_data_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                                const float* rstd, const float* gy, float* gx, int64_t N, int64_t C,
                                                int64_t L, int64_t G, int swish) {
  __shared__ double s[kBlock];
  const int64_t Cg = C / G, M = Cg * L;
  for (int64_t ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
    const int64_t n = ng / G, g = ng - n * G;
    const int64_t base = (n * C + g * Cg) * L;
    const float mu = mean[ng], r = rstd[ng];
    double a1 = 0.0, a2 = 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t ch = g * Cg + i / L;
      const float xh = (x[base + i] - mu) * r;
      float gz = gy[base + i];
      if (swish) gz *= gn_swish_grad(gamma[ch] * xh + beta[ch]);
      const float gxh = gz * gamma[ch];
      a1 += gxh;
      a2 += static_cast<double>(gxh) * xh;
    }
    const float m1 = static_cast<float>(block_sum(a1, s) / static_cast<double>(M));
    const float m2 = static_cast<float>(block_sum(a2, s) / static_cast<double>(M));
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t ch = g * Cg + i / L;
      const float xh = (x[base + i] - mu) * r;
      float gz = gy[base + i];
      if (swish) gz *= gn_swish_grad(gamma[ch] * xh + beta[ch]);
      gx[base + i] = r * (gz * gamma[ch] - m1 - xh * m2);
    }
  }
}

// gγ, gβ: one block per channel c, summing over n and l.
__global__ void group_norm_backward_affine_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                                  const float* rstd, const float* gy, float* gGamma, float* gBeta, int64_t N,
                                                  int64_t C, int64_t L, int64_t G, int swish) {
  __shared__ double s[kBlock];
  const int64_t Cg = C / G;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const int64_t g = c / Cg;
    double ag = 0.0, ab = 0.0;
    for (int64_t k = threadIdx.x; k < N * L; k += blockDim.x) {
      const int64_t n = k / L, l = k - n * L;
      const int64_t idx = (n * C + c) * L + l;
      const float xh = (x[idx] - mean[n * G + g]) * rstd[n * G + g];
      float gz = gy[idx];
      if (swish) gz *= gn_swish_grad(gamma[c] * xh + beta[c]);
      ag += static_cast<double>(gz) * xh;
      ab += gz;
    }
    const double tg = block_sum(ag, s);
    const double tb = block_sum(ab, s);
    if (threadIdx.x == 0) { gGamma[c] = static_cast<float>(tg); gBeta[c] = static_cast<float>(tb); }
  }
}

}  // namespace cbdm_cuda
