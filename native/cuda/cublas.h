// cuBLAS loaded with dlopen (cublas.cpp); internal to the cuda core.
#pragma once
#include <stdint.h>

namespace cbdm_cuda {
// Error codes returned for cuBLAS failures: kCublasErrorBase + cublasStatus_t, kept apart from
// CUDA runtime codes so that one int names either.
constexpr int kCublasErrorBase = 10000;
// A size that does not fit cuBLAS's int arguments.
constexpr int kErrorTooLarge = 20001;
// TF32 asked for without cuBLAS (the tiled kernel is fp32 only).
constexpr int kErrorNoCublas = 20002;

bool cublas_loaded();
int cublas_gemm_row_major(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t sA,
                          const float* B, int64_t sB, float beta, float* C, int64_t sC, int64_t batch);
}  // namespace cbdm_cuda
