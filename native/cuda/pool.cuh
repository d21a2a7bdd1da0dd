// 2-D average and max pooling, NCHW, PyTorch semantics (src/engine/js/pool.ts):
//   x  N×C×H×W (planes P = N·C)     y  P×Ho×Wo     window of (i, j): rows i·s − pad … + k − 1,
//   clipped to the image; average divisor k² (countIncludePad) or the in-image count; max: first
//   maximum in row-major window order, NaN wins. Forward: one thread per output. Backward: one
//   thread per input cell gathering from the outputs whose windows hold it (no atomics); the max
//   backward recomputes each candidate window's argmax from x with the forward's rule.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

struct PoolWin {
  int64_t h0, h1, w0, w1, d;
};

__device__ __forceinline__ PoolWin pool_window(int64_t i, int64_t j, int64_t H, int64_t W, int64_t k, int64_t stride, int64_t pad,
                                               int cip) {
  const int64_t hs = i * stride - pad, ws = j * stride - pad;
  const int64_t he = hs + k < H + pad ? hs + k : H + pad, we = ws + k < W + pad ? ws + k : W + pad;
  PoolWin r;
  r.h0 = hs > 0 ? hs : 0;
  r.w0 = ws > 0 ? ws : 0;
  r.h1 = he < H ? he : H;
  r.w1 = we < W ? we : W;
  r.d = cip ? (he - hs) * (we - ws) : (r.h1 - r.h0) * (r.w1 - r.w0);
  return r;
}

// Flat index (within plane p's x) of the window maximum of output (i, j).
__device__ __forceinline__ int64_t pool_argmax(const float* xp, const PoolWin& w, int64_t W) {
  int64_t best = w.h0 * W + w.w0;
  float m = xp[best];
  for (int64_t a = w.h0; a < w.h1; a++)
    for (int64_t b = w.w0; b < w.w1; b++) {
      const float v = xp[a * W + b];
      if (v > m || v != v) {
        m = v;
        best = a * W + b;
        if (v != v) return best;
      }
    }
  return best;
}

__global__ void pool2d_forward_kernel(int max, const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t k, int64_t stride,
                                      int64_t pad, int64_t Ho, int64_t Wo, int cip) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < P * Ho * Wo; o += step) {
    const int64_t j = o % Wo, i = (o / Wo) % Ho, p = o / (Wo * Ho);
    const float* xp = x + p * H * W;
    const PoolWin w = pool_window(i, j, H, W, k, stride, pad, max ? 1 : cip);
    if (max) {
      y[o] = xp[pool_argmax(xp, w, W)];
    } else {
      float s = 0.0f;
      for (int64_t a = w.h0; a < w.h1; a++)
        for (int64_t b = w.w0; b < w.w1; b++) s += xp[a * W + b];
      y[o] = s / static_cast<float>(w.d);
    }
  }
}

// Outputs along one axis whose window holds input coordinate a: [lo, hi].
__device__ __forceinline__ void pool_range(int64_t a, int64_t k, int64_t stride, int64_t pad, int64_t n, int64_t* lo, int64_t* hi) {
  const int64_t t = a + pad - k + 1;  // i·stride ≥ t
  *lo = t <= 0 ? 0 : (t + stride - 1) / stride;
  int64_t h = (a + pad) / stride;     // i·stride ≤ a + pad
  *hi = h < n - 1 ? h : n - 1;
}

__global__ void pool2d_backward_kernel(int max, const float* x, const float* gy, float* gx, int64_t P, int64_t H, int64_t W, int64_t k,
                                       int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, int cip) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < P * H * W; q += step) {
    const int64_t b = q % W, a = (q / W) % H, p = q / (W * H);
    int64_t i0, i1, j0, j1;
    pool_range(a, k, stride, pad, Ho, &i0, &i1);
    pool_range(b, k, stride, pad, Wo, &j0, &j1);
    const float* gyp = gy + p * Ho * Wo;
    float acc = 0.0f;
    for (int64_t i = i0; i <= i1; i++)
      for (int64_t j = j0; j <= j1; j++) {
        const PoolWin w = pool_window(i, j, H, W, k, stride, pad, max ? 1 : cip);
        if (max) {
          if (pool_argmax(x + p * H * W, w, W) == a * W + b) acc += gyp[i * Wo + j];
        } else {
          acc += gyp[i * Wo + j] / static_cast<float>(w.d);
        }
      }
    gx[q] = acc;
  }
}

}  // namespace cbdm_cuda
