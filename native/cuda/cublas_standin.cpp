// A CPU stand-in for the cuBLAS entry points cbdm loads (cublas_api.h), for tests on machines
// without a GPU: the same symbols and the same column-major semantics, including cuBLAS's
// argument checks (leading dimensions, sizes, handle), so that a wrong transpose, leading
// dimension or batch stride in native/cuda/cublas.cpp gives wrong numbers or an error here too.
// CUBLAS_TF32_TENSOR_OP_MATH is emulated by rounding both inputs to TF32.
// Pointers are host pointers (the shim build's "device" memory is host memory).
#include "cublas_api.h"
#include <cstdint>
#include <cstdlib>
#include <cstring>

struct cublasContext {
  int math_mode;
};

namespace {
int g_calls = 0;
inline long long imax(long long a, long long b) { return a > b ? a : b; }

// TF32 as the tensor cores read an fp32 input: 10 explicit mantissa bits, round to nearest even
// (finite inputs; the products and sums stay fp32 or wider).
inline float tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
  std::memcpy(&x, &u, 4);
  return x;
}
}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
  *h = static_cast<cublasHandle_t>(std::calloc(1, sizeof(cublasContext)));
  return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
  std::free(h);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

// C = alpha·op(A)·op(B) + beta·C per batch, column-major: element (i, j) of X with leading
// dimension ld is X[i + j·ld].
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda, long long sA, const float* B, int ldb,
                                         long long sB, const float* beta, float* C, int ldc, long long sC, int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T)) return CUBLAS_STATUS_INVALID_VALUE;
  if (m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < imax(1, ta == CUBLAS_OP_N ? m : k)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldb < imax(1, tb == CUBLAS_OP_N ? k : n)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldc < imax(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
  g_calls++;
  for (int b = 0; b < batch; b++) {
    const float* Ab = A + sA * b;
    const float* Bb = B + sB * b;
    float* Cb = C + sC * b;
    for (int j = 0; j < n; j++)
      for (int i = 0; i < m; i++) {
        double acc = 0.0;
        for (int p = 0; p < k; p++) {
          const float a = ta == CUBLAS_OP_N ? Ab[i + static_cast<long long>(p) * lda] : Ab[p + static_cast<long long>(i) * lda];
          const float bv = tb == CUBLAS_OP_N ? Bb[p + static_cast<long long>(j) * ldb] : Bb[j + static_cast<long long>(p) * ldb];
          acc += h->math_mode == CUBLAS_TF32_TENSOR_OP_MATH ? static_cast<double>(tf32(a)) * tf32(bv) : static_cast<double>(a) * bv;
        }
        float* c = Cb + i + static_cast<long long>(j) * ldc;
        *c = *beta == 0.0f ? static_cast<float>(*alpha * acc) : static_cast<float>(*alpha * acc + *beta * *c);
      }
  }
  return CUBLAS_STATUS_SUCCESS;
}

// Not a cuBLAS function: how many gemm calls passed the argument checks (tests assert the
// stand-in, not the tiled fallback, did the work).
int cbdm_standin_gemm_calls(void) { return g_calls; }
}
