// Elementwise and broadcast kernels (grid-stride loops, one output element per iteration).
// References: src/engine/js/elementwise.ts (ew.*), src/engine/js/gradnorm.ts (scaleInPlace).
//   n elements; broadcast views a as O×C×I with v of length C; mulRows views a as N×D (w: N).
#pragma once
#include "launch.h"

namespace cbdm_cuda {

// Op codes of cbdm_cuda_ew; must match EW in src/engine/cuda/native.ts.
enum EwOp { kAdd = 0, kSub = 1, kMul = 2, kAffine = 3, kAxpy = 4, kSwish = 5, kSwishBackward = 6,
            kRelu = 7, kReluBackward = 8, kScale = 9 };

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// out = op(a, b); s1/s2 are alpha/beta of affine (out = s1·a + s2), alpha of axpy (a + s1·b) and
// the factor of scale (s1·a). In-place (out == a) is allowed: each element is read before written.
__global__ void ew_kernel(int op, const float* a, const float* b, float* out, int64_t n, float s1, float s2) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float x = a[i];
    float y = 0.0f;
    switch (op) {
      case kAdd: y = x + b[i]; break;
      case kSub: y = x - b[i]; break;
      case kMul: y = x * b[i]; break;
      case kAffine: y = s1 * x + s2; break;
      case kAxpy: y = x + s1 * b[i]; break;
      case kSwish: y = x * sigmoidf(x); break;
      case kSwishBackward: { const float s = sigmoidf(x); y = b[i] * (s + x * s * (1.0f - s)); break; }
      case kRelu: y = x > 0.0f ? x : 0.0f; break;
      case kReluBackward: y = x > 0.0f ? b[i] : 0.0f; break;
      case kScale: y = s1 * x; break;
    }
    out[i] = y;
  }
}

__global__ void fill_kernel(float* out, int64_t n, float value) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = value;
}

// Broadcast op codes; must match BC in src/engine/cuda/native.ts.
enum BroadcastOp { kBroadcastAdd = 0, kBroadcastSum = 1, kMulRows = 2 };

// out[o,c,i] = a[o,c,i] + v[c]  (O×C×I)
__global__ void add_broadcast_kernel(const float* a, const float* v, float* out, int64_t O, int64_t C, int64_t I) {
  const int64_t n = O * C * I;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) out[k] = a[k] + v[(k / I) % C];
}

// out[n,d] = a[n,d]·w[n]  (N×D)
__global__ void mul_rows_kernel(const float* a, const float* w, float* out, int64_t N, int64_t D) {
  const int64_t n = N * D;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) out[k] = a[k] * w[k / D];
}

// for o < count: out[o·outStride + i] = a[o·aStride + i], i < len (pointers already offset).
__global__ void copy_blocks_kernel(const float* a, int64_t aStride, float* out, int64_t outStride, int64_t len, int64_t count) {
  const int64_t n = len * count;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const int64_t o = k / len, i = k - o * len;
    out[o * outStride + i] = a[o * aStride + i];
  }
}

}  // namespace cbdm_cuda
