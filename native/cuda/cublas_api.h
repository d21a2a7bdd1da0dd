// The few cuBLAS v2 C declarations cbdm calls, declared here (not taken from cublas_v2.h) because
// the library is loaded with dlopen at run time: the CUDA toolkit that builds the addon need not
// ship cuBLAS (CUDA 13 on the build machine does not), and the GPU host may have it only inside
// PyTorch's nvidia/cublas wheel. Values are those of the cuBLAS documentation
// (https://docs.nvidia.com/cuda/cublas/, cublasStatus_t / cublasOperation_t / cublasMath_t).
// native/cuda/cublas_standin.cpp implements the same entry points on the CPU for tests.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cublasContext* cublasHandle_t;
typedef int cublasStatus_t;
typedef int cublasOperation_t;
typedef int cublasMath_t;

enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
};
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

typedef cublasStatus_t (*cublasCreate_fn)(cublasHandle_t*);
typedef cublasStatus_t (*cublasDestroy_fn)(cublasHandle_t);
typedef cublasStatus_t (*cublasSetMathMode_fn)(cublasHandle_t, cublasMath_t);
typedef cublasStatus_t (*cublasSgemmStridedBatched_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int m, int n,
                                                       int k, const float* alpha, const float* A, int lda, long long strideA,
                                                       const float* B, int ldb, long long strideB, const float* beta, float* C,
                                                       int ldc, long long strideC, int batchCount);

#ifdef __cplusplus
}
#endif
