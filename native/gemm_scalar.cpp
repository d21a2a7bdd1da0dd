// Portable sgemm microkernel, 4×8, plain C++ (baseline x86-64 code: SSE2 at most). The fallback
// for CPUs without AVX2 and the reference the SIMD microkernels are tested against.
#include "common.h"

namespace cbdm {

static constexpr int MR = 4, NR = 8;

static void ukr_4x8(int kc, const float* a, const float* b, float* c, ptrdiff_t ldc, float alpha, float beta, int n) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++) {
    for (int j = 0; j < NR; j++) {
      float r = alpha * acc[i][j];
      c[i * ldc + j] = beta == 0.0f ? r : r + beta * c[i * ldc + j];
    }
  }
}

GemmKernel gemm_kernel_scalar() {
  GemmKernel k{MR, NR, 128, 256, 1024, {}, false};
  k.rows[MR] = ukr_4x8;  // edge tiles go through a scratch tile in the driver
  return k;
}

}  // namespace cbdm
