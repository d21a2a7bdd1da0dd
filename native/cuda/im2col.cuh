// Convolution as GEMM: the lowering kernels (src/engine/js/conv2d.ts is the reference).
//   x  N×Ci×H×W     w  Co×Ci×KH×KW     y  N×Co×Ho×Wo     L = Ho·Wo     R = Ci·KH·KW
//   col_n (R×L)[(ci,p,q), (i,j)] = x[n, ci, i·s − pad + p, j·s − pad + q]  (0 outside the image)
// Then y_n = w·col_n, gcol_n = wᵀ·gy_n, gw = Σ_n gy_n·col_nᵀ (GEMMs in core.cu), and col2im sums
// gcol back into gx. col2im gives each gx element to one thread, which gathers the (p, q) taps
// that read it: deterministic, no atomics.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

// col for images [0, nc) of x (x already offset to the first image): nc×R×L.
__global__ void im2col_kernel(const float* x, float* col, int64_t nc, int64_t Ci, int64_t H, int64_t W, int64_t KH, int64_t KW,
                              int64_t stride, int64_t pad, int64_t Ho, int64_t Wo) {
  const int64_t L = Ho * Wo, R = Ci * KH * KW, total = nc * R * L;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t l = k % L, r = (k / L) % R, n = k / (L * R);
    const int64_t q = r % KW, p = (r / KW) % KH, ci = r / (KW * KH);
    const int64_t i = l / Wo, j = l - i * Wo;
    const int64_t hi = i * stride - pad + p, wi = j * stride - pad + q;
    col[k] = (hi >= 0 && hi < H && wi >= 0 && wi < W) ? x[((n * Ci + ci) * H + hi) * W + wi] : 0.0f;
  }
}

// gx for images [0, nc) (gx offset to the first image) from gcol (nc×R×L); overwrites gx.
__global__ void col2im_kernel(const float* gcol, float* gx, int64_t nc, int64_t Ci, int64_t H, int64_t W, int64_t KH, int64_t KW,
                              int64_t stride, int64_t pad, int64_t Ho, int64_t Wo) {
  const int64_t L = Ho * Wo, R = Ci * KH * KW, total = nc * Ci * H * W;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t wi = k % W, hi = (k / W) % H, ci = (k / (W * H)) % Ci, n = k / (W * H * Ci);
    float acc = 0.0f;
    for (int64_t p = 0; p < KH; p++) {
      const int64_t ti = hi + pad - p;  // = i·stride
      if (ti < 0 || ti % stride != 0 || ti / stride >= Ho) continue;
      for (int64_t q = 0; q < KW; q++) {
        const int64_t tj = wi + pad - q;
        if (tj < 0 || tj % stride != 0 || tj / stride >= Wo) continue;
        acc += gcol[(n * R + (ci * KH + p) * KW + q) * L + (ti / stride) * Wo + tj / stride];
      }
    }
    gx[k] = acc;
  }
}

}  // namespace cbdm_cuda
