// Reductions with float64 accumulation (the js reference sums in float64 too):
// src/engine/js/elementwise.ts sumAll / sumSquaredDiff / weightedSquaredDiff / sumBroadcast,
// src/engine/js/gradnorm.ts sumSquares.
// Two launches for a full reduction: each block writes one partial sum (shared-memory tree,
// fixed order, so results are identical run to run), then one block sums the partials.
#pragma once
#include "launch.h"

namespace cbdm_cuda {

// Reduction op codes; must match RD in src/engine/cuda/native.ts.
enum ReduceOp { kSum = 0, kSumSquares = 1, kSumSquaredDiff = 2, kWeightedSquaredDiff = 3 };

// At most this many partial sums (blocks) per reduction.
constexpr int kReduceBlocks = 256;

// Sum of v over the block (blockDim.x == kBlock) via the shared array s[kBlock]; every thread
// gets the total. Ends with a barrier, so s may be reused at once.
__device__ __forceinline__ double block_sum(double v, double* s) {
  s[threadIdx.x] = v;
  __syncthreads();
  for (int half = kBlock / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  const double total = s[0];
  __syncthreads();
  return total;
}

// partials[block] = Σ over this block's grid-stride share of term(k), k < N·D, where term is
// a, a², (a−b)² or w[k/D]·(a−b)².
__global__ void reduce_partials_kernel(int op, const float* a, const float* b, const float* w, int64_t N, int64_t D,
                                       double* partials) {
  __shared__ double s[kBlock];
  const int64_t n = N * D;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  double acc = 0.0;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += stride) {
    const double x = a[k];
    switch (op) {
      case kSum: acc += x; break;
      case kSumSquares: acc += x * x; break;
      case kSumSquaredDiff: { const double e = x - b[k]; acc += e * e; break; }
      case kWeightedSquaredDiff: { const double e = x - b[k]; acc += static_cast<double>(w[k / D]) * e * e; break; }
    }
  }
  const double total = block_sum(acc, s);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// out[0] = Σ partials[0..count) (one block).
__global__ void reduce_final_kernel(const double* partials, int count, double* out) {
  __shared__ double s[kBlock];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = block_sum(acc, s);
  if (threadIdx.x == 0) out[0] = total;
}

// out[c] = Σ_{o,i} a[o,c,i] (O×C×I): one block per channel (grid-stride over channels).
__global__ void sum_broadcast_kernel(const float* a, float* out, int64_t O, int64_t C, int64_t I) {
  __shared__ double s[kBlock];
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double acc = 0.0;
    for (int64_t k = threadIdx.x; k < O * I; k += blockDim.x) {
      const int64_t o = k / I, i = k - o * I;
      acc += a[(o * C + c) * I + i];
    }
    const double total = block_sum(acc, s);
    if (threadIdx.x == 0) out[c] = static_cast<float>(total);
  }
}

}  // namespace cbdm_cuda
