// AVX-512 sgemm microkernel, 14×32: 28 zmm accumulators (14 rows × two 16-float vectors), each
// k step loads two B vectors and broadcasts 14 A values (28 FMAs). Compiled with -mavx512f etc.
// in its own translation unit; called only when the CPU reports AVX-512.
//
// Edge tiles run the same code: a row count R < 14 is a template instance (no wasted FMAs on the
// zero rows of the packed panel, which matters for M = 128 or 256 channels: 128 = 9·14 + 2), and
// fewer than 32 columns are handled with masked loads/stores of C.
#include "common.h"
#include <immintrin.h>

namespace cbdm {

static constexpr int MR = 14, NR = 32;
static constexpr int PF = 8;  // prefetch distance for the B panel, in k steps (measured: 4–16 equal)

template <int R>
static void ukr(int kc, const float* a, const float* b, float* c, ptrdiff_t ldc, float alpha, float beta, int n) {
  __m512 acc[R][2];
#pragma GCC unroll 14
  for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int i = 0; i < R; i++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + PF * NR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + PF * NR + 16), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < R; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;  // packed panels are always MR wide; rows ≥ R are padding
    b += NR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
  const __mmask16 m1 = n >= 32 ? __mmask16(0xFFFF) : n <= 16 ? __mmask16(0) : __mmask16((1u << (n - 16)) - 1);
#pragma GCC unroll 14
  for (int i = 0; i < R; i++) {
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(va, acc[i][0]);
    __m512 r1 = _mm512_mul_ps(va, acc[i][1]);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

GemmKernel gemm_kernel_avx512() {
  GemmKernel k{MR, NR, 238, 512, 4096, {}, true};
  k.rows[1] = ukr<1>; k.rows[2] = ukr<2>; k.rows[3] = ukr<3>; k.rows[4] = ukr<4>; k.rows[5] = ukr<5>;
  k.rows[6] = ukr<6>; k.rows[7] = ukr<7>; k.rows[8] = ukr<8>; k.rows[9] = ukr<9>; k.rows[10] = ukr<10>;
  k.rows[11] = ukr<11>; k.rows[12] = ukr<12>; k.rows[13] = ukr<13>; k.rows[14] = ukr<14>;
  return k;
}

}  // namespace cbdm
