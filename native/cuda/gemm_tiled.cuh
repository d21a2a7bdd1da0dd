// Portable shared-memory tiled sgemm: the fallback when cuBLAS is not loaded (and the kernel the
// shim checks for ragged shapes). Row-major, as src/engine/js/gemm.ts:
//   C(M×N) = alpha·op(A)·op(B) + beta·C,  op(A) M×K (A stored K×M when transA),
//   op(B) K×N (B stored N×K when transB); beta = 0 never reads C (BLAS semantics).
// Block kTile×kTile threads, one C element per thread; grid (⌈N/kTile⌉, ⌈M/kTile⌉, batch), with
// per-batch element strides sA, sB, sC (0 for a single product).
#pragma once
#include "launch.h"

namespace cbdm_cuda {

constexpr int kTile = 16;

__global__ void sgemm_tiled_kernel(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                                   int64_t sA, const float* B, int64_t sB, float beta, float* C, int64_t sC) {
  __shared__ float As[kTile][kTile + 1];
  __shared__ float Bs[kTile][kTile + 1];
  A += sA * blockIdx.z;
  B += sB * blockIdx.z;
  C += sC * blockIdx.z;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t row = static_cast<int64_t>(blockIdx.y) * kTile + ty;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < K; k0 += kTile) {
    const int64_t ka = k0 + tx, kb = k0 + ty;
    As[ty][tx] = (row < M && ka < K) ? (transA ? A[ka * M + row] : A[row * K + ka]) : 0.0f;
    Bs[ty][tx] = (kb < K && col < N) ? (transB ? B[col * K + kb] : B[kb * N + col]) : 0.0f;
    __syncthreads();
    for (int k = 0; k < kTile; k++) acc += As[ty][k] * Bs[k][tx];
    __syncthreads();
  }
  if (row < M && col < N) {
    float* c = C + row * N + col;
    *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
  }
}

}  // namespace cbdm_cuda
