// The plain C core of the cuda backend: device query, memory, and one entry per op. Pointers are
// device pointers except where a name ends in _host. Every function returns 0 or a CUDA error
// code (cbdm_cuda_error_string names it). Shapes use the letters of src/engine/backend.ts.
// Compiled by nvcc into the GPU addon, and by g++ with the CPU shim (shim.h) into the test addon.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int cbdm_cuda_device_count(int* count);
int cbdm_cuda_device_info(int device, char* name, int name_len, int* major, int* minor, int* sms, size_t* mem_bytes);
const char* cbdm_cuda_error_string(int code);
/** 1 when built with the CPU shim (host memory, kernels run on host threads). */
int cbdm_cuda_is_shim(void);

int cbdm_cuda_malloc(void** ptr, size_t bytes);
int cbdm_cuda_free(void* ptr);
int cbdm_cuda_upload(void* dst, const void* src_host, size_t bytes);
int cbdm_cuda_download(void* dst_host, const void* src, size_t bytes);
int cbdm_cuda_copy(void* dst, const void* src, size_t bytes);
int cbdm_cuda_synchronize(void);

int cbdm_cuda_ew(int op, const float* a, const float* b, float* out, int64_t n, float s1, float s2);
int cbdm_cuda_fill(float* out, int64_t n, float value);
int cbdm_cuda_broadcast(int op, const float* a, const float* v, float* out, int64_t O, int64_t C, int64_t I);
int cbdm_cuda_copy_blocks(const float* a, int64_t a_stride, float* out, int64_t out_stride, int64_t len, int64_t count);
int cbdm_cuda_dropout(const float* x, float* out, int64_t n, double p, uint32_t seed0, uint32_t seed1);
int cbdm_cuda_upsample_nearest2x_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W);
int cbdm_cuda_upsample_nearest2x_backward(const float* gy, float* gx, int64_t P, int64_t H, int64_t W);
/** Average (max = 0) or max pooling, PoolGeom of src/engine/backend.ts with P = N·C planes. x is unused by the average backward. */
int cbdm_cuda_pool2d_forward(int max, const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t k, int64_t stride, int64_t pad,
                             int64_t Ho, int64_t Wo, int count_include_pad);
int cbdm_cuda_pool2d_backward(int max, const float* x, const float* gy, float* gx, int64_t P, int64_t H, int64_t W, int64_t k,
                              int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, int count_include_pad);
int cbdm_cuda_reduce(int op, const float* a, const float* b, const float* w, int64_t N, int64_t D, double* result_host);

int cbdm_cuda_group_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                                 int64_t N, int64_t C, int64_t L, int64_t G, float eps, int swish);
int cbdm_cuda_group_norm_backward(const float* x, const float* gamma, const float* beta, const float* mean, const float* rstd,
                                  const float* gy, float* gx, float* g_gamma, float* g_beta, int64_t N, int64_t C, int64_t L,
                                  int64_t G, int swish);

int cbdm_cuda_softmax_forward(const float* x, float* y, int64_t O, int64_t K, int64_t I, int log);
int cbdm_cuda_softmax_backward(const float* y, const float* gy, float* gx, int64_t O, int64_t K, int64_t I, int log);
int cbdm_cuda_cross_entropy_backward(const float* logp, const int32_t* labels_host, float scale, float* gx, int64_t N, int64_t K);

int cbdm_cuda_embedding_forward(const float* w, const int32_t* ids_host, int64_t N, int64_t D, float* y);
int cbdm_cuda_embedding_backward(const float* gy, const int32_t* ids_host, int64_t N, int64_t V, int64_t D, float* gw);

int cbdm_cuda_adam(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
                   double eps, double weight_decay, double step);
int cbdm_cuda_ema(float* ema, const float* p, int64_t n, float decay);

/** Convolution as im2col + GEMM (shapes as ConvGeom in src/engine/backend.ts); b and gb may be null. */
int cbdm_cuda_conv2d_forward(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t Ci, int64_t H, int64_t W,
                             int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo);
int cbdm_cuda_conv2d_backward_data(const float* gy, const float* w, float* gx, int64_t N, int64_t Ci, int64_t H, int64_t W,
                                   int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo);
int cbdm_cuda_conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, int64_t N, int64_t Ci, int64_t H,
                                     int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho,
                                     int64_t Wo);

/**
 * Row-major C(M×N) = alpha·op(A)·op(B) + beta·C for `batch` products with element strides sA, sB,
 * sC: through cuBLAS when cbdm_cuda_load_cublas succeeded, else the tiled kernel.
 */
int cbdm_cuda_gemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t sA,
                   const float* B, int64_t sB, float beta, float* C, int64_t sC, int64_t batch);
/** dlopen a cuBLAS library (path); 0 on success, else writes why into message. */
int cbdm_cuda_load_cublas(const char* path, char* message, int message_len);
/**
 * GEMM math through cuBLAS: 0 plain fp32, 1 TF32 tensor cores (inputs rounded to a 10-bit
 * mantissa, fp32 accumulation). Returns 0, or an error when cuBLAS is not loaded (the tiled kernel
 * has fp32 only) or refuses the mode.
 */
int cbdm_cuda_set_gemm_tf32(int tf32);
/** The loaded cuBLAS path, or "" when gemm uses the tiled kernel. */
const char* cbdm_cuda_gemm_library(void);

#ifdef __cplusplus
}
#endif
