// The cuda core: device query, memory and one launcher per op, over the kernels in *.cuh.
// The same text builds twice: nvcc → the GPU addon (build/Release/cbdm_cuda.node), and g++ with
// -DCBDM_CUDA_SHIM -x c++ → the CPU test addon (launch.h then includes shim.h). Every entry
// returns 0 or an error code; launches are checked with cudaGetLastError. Host round trips:
// only the reductions' float64 result and the embedding/label ids (host integers) cross.
#include "core.h"
#include "cublas.h"
#include "cublas_api.h"
#include "launch.h"
#include "elementwise.cuh"
#include "reduce.cuh"
#include "groupnorm.cuh"
#include "softmax.cuh"
#include "embedding.cuh"
#include "optim.cuh"
#include "gemm_tiled.cuh"
#include "im2col.cuh"
#include "dropout.cuh"
#include "resample.cuh"
#include "pool.cuh"
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace cbdm_cuda;

namespace {

// Grow-only device scratch (reduction partials, host ids copied up).
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  int ensure(size_t want) {
    if (want <= bytes) return 0;
    if (ptr) cudaFree(ptr);
    ptr = nullptr;
    bytes = 0;
    const cudaError_t e = cudaMalloc(&ptr, want);
    if (e == cudaSuccess) bytes = want;
    return static_cast<int>(e);
  }
};
Scratch g_partials, g_ids, g_col;

// Bytes of im2col buffer per chunk of images (one image at least).
constexpr int64_t kColBytes = int64_t{256} << 20;

int launched() { return static_cast<int>(cudaGetLastError()); }

unsigned capped(int64_t blocks) {
  if (blocks < 1) return 1;
  return static_cast<unsigned>(blocks > 65535 ? 65535 : blocks);
}

// Copy host int32 ids to device scratch.
int upload_ids(const int32_t* ids_host, int64_t n, const int32_t** out) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(int32_t);
  if (int e = g_ids.ensure(bytes > 0 ? bytes : 4)) return e;
  if (bytes > 0) {
    if (int e = static_cast<int>(cudaMemcpy(g_ids.ptr, ids_host, bytes, cudaMemcpyHostToDevice))) return e;
  }
  *out = static_cast<const int32_t*>(g_ids.ptr);
  return 0;
}

}  // namespace

extern "C" {

int cbdm_cuda_device_count(int* count) {
  *count = 0;
  return static_cast<int>(cudaGetDeviceCount(count));
}

int cbdm_cuda_device_info(int device, char* name, int name_len, int* major, int* minor, int* sms, size_t* mem_bytes) {
  cudaDeviceProp p;
  if (int e = static_cast<int>(cudaGetDeviceProperties(&p, device))) return e;
  std::snprintf(name, static_cast<size_t>(name_len), "%s", p.name);
  *major = p.major;
  *minor = p.minor;
  *sms = p.multiProcessorCount;
  *mem_bytes = p.totalGlobalMem;
  return static_cast<int>(cudaSetDevice(device));
}

const char* cbdm_cuda_error_string(int code) {
  if (code == kErrorTooLarge) return "a size does not fit cuBLAS's 32-bit arguments";
  if (code == kErrorNoCublas) return "TF32 needs cuBLAS (not loaded; the tiled gemm kernel is fp32 only)";
  if (code >= kCublasErrorBase) {
    switch (code - kCublasErrorBase) {
      case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS: not initialised";
      case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS: allocation failed";
      case CUBLAS_STATUS_INVALID_VALUE: return "cuBLAS: invalid value (a size or leading dimension)";
      default: return "cuBLAS: call failed";
    }
  }
  return cudaGetErrorString(static_cast<cudaError_t>(code));
}

int cbdm_cuda_is_shim(void) {
#ifdef __CUDACC__
  return 0;
#else
  return 1;
#endif
}

int cbdm_cuda_malloc(void** ptr, size_t bytes) { return static_cast<int>(cudaMalloc(ptr, bytes > 0 ? bytes : 4)); }
int cbdm_cuda_free(void* ptr) { return static_cast<int>(cudaFree(ptr)); }
int cbdm_cuda_upload(void* dst, const void* src_host, size_t bytes) {
  return static_cast<int>(cudaMemcpy(dst, src_host, bytes, cudaMemcpyHostToDevice));
}
int cbdm_cuda_download(void* dst_host, const void* src, size_t bytes) {
  return static_cast<int>(cudaMemcpy(dst_host, src, bytes, cudaMemcpyDeviceToHost));
}
int cbdm_cuda_copy(void* dst, const void* src, size_t bytes) {
  return static_cast<int>(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
int cbdm_cuda_synchronize(void) { return static_cast<int>(cudaDeviceSynchronize()); }

// ---- elementwise ---------------------------------------------------------------------------------
int cbdm_cuda_ew(int op, const float* a, const float* b, float* out, int64_t n, float s1, float s2) {
  CBDM_LAUNCH(ew_kernel, blocks_for(n), kBlock, op, a, b, out, n, s1, s2);
  return launched();
}
int cbdm_cuda_fill(float* out, int64_t n, float value) {
  CBDM_LAUNCH(fill_kernel, blocks_for(n), kBlock, out, n, value);
  return launched();
}
int cbdm_cuda_broadcast(int op, const float* a, const float* v, float* out, int64_t O, int64_t C, int64_t I) {
  switch (op) {
    case kBroadcastAdd: CBDM_LAUNCH(add_broadcast_kernel, blocks_for(O * C * I), kBlock, a, v, out, O, C, I); break;
    case kBroadcastSum: CBDM_LAUNCH_SYNC(sum_broadcast_kernel, capped(C), kBlock, a, out, O, C, I); break;
    case kMulRows: CBDM_LAUNCH(mul_rows_kernel, blocks_for(O * C), kBlock, a, v, out, O, C); break;
    default: return static_cast<int>(cudaErrorInvalidValue);
  }
  return launched();
}
int cbdm_cuda_copy_blocks(const float* a, int64_t a_stride, float* out, int64_t out_stride, int64_t len, int64_t count) {
  CBDM_LAUNCH(copy_blocks_kernel, blocks_for(len * count), kBlock, a, a_stride, out, out_stride, len, count);
  return launched();
}

int cbdm_cuda_dropout(const float* x, float* out, int64_t n, double p, uint32_t seed0, uint32_t seed1) {
  const double threshold = std::floor(p * 4294967296.0);  // p < 1, so this fits uint32
  CBDM_LAUNCH(dropout_kernel, blocks_for(n), kBlock, x, out, n, static_cast<uint32_t>(threshold), 1.0 / (1.0 - p), seed0, seed1);
  return launched();
}
int cbdm_cuda_upsample_nearest2x_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W) {
  CBDM_LAUNCH(upsample_nearest2x_forward_kernel, blocks_for(4 * P * H * W), kBlock, x, y, P, H, W);
  return launched();
}
int cbdm_cuda_upsample_nearest2x_backward(const float* gy, float* gx, int64_t P, int64_t H, int64_t W) {
  CBDM_LAUNCH(upsample_nearest2x_backward_kernel, blocks_for(P * H * W), kBlock, gy, gx, P, H, W);
  return launched();
}

int cbdm_cuda_pool2d_forward(int max, const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t k, int64_t stride, int64_t pad,
                             int64_t Ho, int64_t Wo, int count_include_pad) {
  CBDM_LAUNCH(pool2d_forward_kernel, blocks_for(P * Ho * Wo), kBlock, max, x, y, P, H, W, k, stride, pad, Ho, Wo, count_include_pad);
  return launched();
}
int cbdm_cuda_pool2d_backward(int max, const float* x, const float* gy, float* gx, int64_t P, int64_t H, int64_t W, int64_t k,
                              int64_t stride, int64_t pad, int64_t Ho, int64_t Wo, int count_include_pad) {
  CBDM_LAUNCH(pool2d_backward_kernel, blocks_for(P * H * W), kBlock, max, x, gy, gx, P, H, W, k, stride, pad, Ho, Wo, count_include_pad);
  return launched();
}

// ---- reductions ----------------------------------------------------------------------------------
int cbdm_cuda_reduce(int op, const float* a, const float* b, const float* w, int64_t N, int64_t D, double* result_host) {
  const int64_t n = N * D;
  int64_t blocks = (n + kBlock - 1) / kBlock;
  if (blocks < 1) blocks = 1;
  if (blocks > kReduceBlocks) blocks = kReduceBlocks;
  if (int e = g_partials.ensure(sizeof(double) * (kReduceBlocks + 1))) return e;
  double* partials = static_cast<double*>(g_partials.ptr);
  CBDM_LAUNCH_SYNC(reduce_partials_kernel, static_cast<unsigned>(blocks), kBlock, op, a, b, w, N, D, partials);
  if (int e = launched()) return e;
  CBDM_LAUNCH_SYNC(reduce_final_kernel, 1u, kBlock, partials, static_cast<int>(blocks), partials + kReduceBlocks);
  if (int e = launched()) return e;
  return static_cast<int>(cudaMemcpy(result_host, partials + kReduceBlocks, sizeof(double), cudaMemcpyDeviceToHost));
}

// ---- group norm ----------------------------------------------------------------------------------
int cbdm_cuda_group_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                                 int64_t N, int64_t C, int64_t L, int64_t G, float eps, int swish) {
  CBDM_LAUNCH_SYNC(group_norm_forward_kernel, capped(N * G), kBlock, x, gamma, beta, y, mean, rstd, N, C, L, G, eps, swish);
  return launched();
}
int cbdm_cuda_group_norm_backward(const float* x, const float* gamma, const float* beta, const float* mean, const float* rstd,
                                  const float* gy, float* gx, float* g_gamma, float* g_beta, int64_t N, int64_t C, int64_t L,
                                  int64_t G, int swish) {
  CBDM_LAUNCH_SYNC(group_norm_backward_data_kernel, capped(N * G), kBlock, x, gamma, beta, mean, rstd, gy, gx, N, C, L, G, swish);
  if (int e = launched()) return e;
  CBDM_LAUNCH_SYNC(group_norm_backward_affine_kernel, capped(C), kBlock, x, gamma, beta, mean, rstd, gy, g_gamma, g_beta, N, C, L,
                   G, swish);
  return launched();
}

// ---- softmax family ------------------------------------------------------------------------------
int cbdm_cuda_softmax_forward(const float* x, float* y, int64_t O, int64_t K, int64_t I, int log) {
  CBDM_LAUNCH(softmax_forward_kernel, blocks_for(O * I), kBlock, x, y, O, K, I, log);
  return launched();
}
int cbdm_cuda_softmax_backward(const float* y, const float* gy, float* gx, int64_t O, int64_t K, int64_t I, int log) {
  CBDM_LAUNCH(softmax_backward_kernel, blocks_for(O * I), kBlock, y, gy, gx, O, K, I, log);
  return launched();
}
int cbdm_cuda_cross_entropy_backward(const float* logp, const int32_t* labels_host, float scale, float* gx, int64_t N, int64_t K) {
  const int32_t* labels = nullptr;
  if (int e = upload_ids(labels_host, N, &labels)) return e;
  CBDM_LAUNCH(cross_entropy_backward_kernel, blocks_for(N * K), kBlock, logp, labels, scale, gx, N, K);
  return launched();
}

// ---- embedding -----------------------------------------------------------------------------------
int cbdm_cuda_embedding_forward(const float* w, const int32_t* ids_host, int64_t N, int64_t D, float* y) {
  const int32_t* ids = nullptr;
  if (int e = upload_ids(ids_host, N, &ids)) return e;
  CBDM_LAUNCH(embedding_forward_kernel, blocks_for(N * D), kBlock, w, ids, N, D, y);
  return launched();
}
int cbdm_cuda_embedding_backward(const float* gy, const int32_t* ids_host, int64_t N, int64_t V, int64_t D, float* gw) {
  const int32_t* ids = nullptr;
  if (int e = upload_ids(ids_host, N, &ids)) return e;
  CBDM_LAUNCH(embedding_backward_kernel, blocks_for(V * D), kBlock, gy, ids, N, V, D, gw);
  return launched();
}

// ---- optimiser -----------------------------------------------------------------------------------
int cbdm_cuda_adam(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2, double eps,
                   double weight_decay, double step) {
  const double step_size = lr / (1.0 - std::pow(beta1, step));
  const double sqrt_bc2 = std::sqrt(1.0 - std::pow(beta2, step));
  CBDM_LAUNCH(adam_kernel, blocks_for(n), kBlock, p, g, m, v, n, static_cast<float>(beta1), static_cast<float>(beta2),
              static_cast<float>(eps), static_cast<float>(weight_decay), static_cast<float>(step_size), static_cast<float>(sqrt_bc2));
  return launched();
}
int cbdm_cuda_ema(float* ema, const float* p, int64_t n, float decay) {
  CBDM_LAUNCH(ema_kernel, blocks_for(n), kBlock, ema, p, n, decay);
  return launched();
}

// ---- gemm ----------------------------------------------------------------------------------------
int cbdm_cuda_gemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t sA,
                   const float* B, int64_t sB, float beta, float* C, int64_t sC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return 0;
  if (cublas_loaded()) return cublas_gemm_row_major(trans_a, trans_b, M, N, K, alpha, A, sA, B, sB, beta, C, sC, batch);
  const dim3 grid(static_cast<unsigned>((N + kTile - 1) / kTile), static_cast<unsigned>((M + kTile - 1) / kTile),
                  static_cast<unsigned>(batch));
  const dim3 block(kTile, kTile);
  CBDM_LAUNCH_SYNC(sgemm_tiled_kernel, grid, block, trans_a, trans_b, M, N, K, alpha, A, sA, B, sB, beta, C, sC);
  return launched();
}

// ---- convolution as im2col + GEMM ----------------------------------------------------------------
namespace {
struct ConvShape {
  int64_t N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo;
  int64_t L() const { return Ho * Wo; }
  int64_t R() const { return Ci * KH * KW; }
  // 1×1, stride 1, no padding: the image itself is its col matrix.
  bool direct() const { return KH == 1 && KW == 1 && stride == 1 && pad == 0; }
  int64_t chunk() const {
    const int64_t per = R() * L() * static_cast<int64_t>(sizeof(float));
    const int64_t nc = per > 0 ? kColBytes / per : N;
    return nc < 1 ? 1 : (nc > N ? N : nc);
  }
};

// col for images [n0, n0 + nc): a pointer to x itself when direct, else g_col filled by im2col.
int lower(const ConvShape& s, const float* x, int64_t n0, int64_t nc, const float** col) {
  const float* xn = x + n0 * s.Ci * s.H * s.W;
  if (s.direct()) { *col = xn; return 0; }
  if (int e = g_col.ensure(static_cast<size_t>(nc * s.R() * s.L()) * sizeof(float))) return e;
  float* c = static_cast<float*>(g_col.ptr);
  CBDM_LAUNCH(im2col_kernel, blocks_for(nc * s.R() * s.L()), kBlock, xn, c, nc, s.Ci, s.H, s.W, s.KH, s.KW, s.stride, s.pad, s.Ho, s.Wo);
  *col = c;
  return launched();
}
}  // namespace

// y_n = w·col_n (+ b): one strided-batched GEMM per chunk (w shared: stride 0).
int cbdm_cuda_conv2d_forward(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t Ci, int64_t H, int64_t W,
                             int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo) {
  const ConvShape s{N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo};
  const int64_t L = s.L(), R = s.R(), nc = s.chunk();
  for (int64_t n0 = 0; n0 < N; n0 += nc) {
    const int64_t m = N - n0 < nc ? N - n0 : nc;
    const float* col = nullptr;
    if (int e = lower(s, x, n0, m, &col)) return e;
    if (int e = cbdm_cuda_gemm(0, 0, Co, L, R, 1.0f, w, 0, col, R * L, 0.0f, y + n0 * Co * L, Co * L, m)) return e;
  }
  if (b) return cbdm_cuda_broadcast(kBroadcastAdd, y, b, y, N, Co, L);
  return 0;
}

// gcol_n = wᵀ·gy_n, then col2im into gx (or gx_n = wᵀ·gy_n directly for 1×1).
int cbdm_cuda_conv2d_backward_data(const float* gy, const float* w, float* gx, int64_t N, int64_t Ci, int64_t H, int64_t W,
                                   int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho, int64_t Wo) {
  const ConvShape s{N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo};
  const int64_t L = s.L(), R = s.R(), nc = s.chunk();
  if (s.direct()) return cbdm_cuda_gemm(1, 0, R, L, Co, 1.0f, w, 0, gy, Co * L, 0.0f, gx, Ci * H * W, N);
  for (int64_t n0 = 0; n0 < N; n0 += nc) {
    const int64_t m = N - n0 < nc ? N - n0 : nc;
    if (int e = g_col.ensure(static_cast<size_t>(m * R * L) * sizeof(float))) return e;
    float* gcol = static_cast<float*>(g_col.ptr);
    if (int e = cbdm_cuda_gemm(1, 0, R, L, Co, 1.0f, w, 0, gy + n0 * Co * L, Co * L, 0.0f, gcol, R * L, m)) return e;
    float* gxn = gx + n0 * Ci * H * W;
    CBDM_LAUNCH(col2im_kernel, blocks_for(m * Ci * H * W), kBlock, gcol, gxn, m, Ci, H, W, KH, KW, stride, pad, Ho, Wo);
    if (int e = launched()) return e;
  }
  return 0;
}

// gw = Σ_n gy_n·col_nᵀ (one GEMM per image, accumulating after the first), gb = Σ_{n,l} gy.
int cbdm_cuda_conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, int64_t N, int64_t Ci, int64_t H,
                                     int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t stride, int64_t pad, int64_t Ho,
                                     int64_t Wo) {
  const ConvShape s{N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo};
  const int64_t L = s.L(), R = s.R(), nc = s.chunk();
  if (N == 0) {
    if (int e = cbdm_cuda_fill(gw, Co * R, 0.0f)) return e;
  }
  for (int64_t n0 = 0; n0 < N; n0 += nc) {
    const int64_t m = N - n0 < nc ? N - n0 : nc;
    const float* col = nullptr;
    if (int e = lower(s, x, n0, m, &col)) return e;
    for (int64_t i = 0; i < m; i++) {
      const float beta = n0 + i == 0 ? 0.0f : 1.0f;
      if (int e = cbdm_cuda_gemm(0, 1, Co, R, L, 1.0f, gy + (n0 + i) * Co * L, 0, col + i * R * L, 0, beta, gw, 0, 1)) return e;
    }
  }
  if (gb) return cbdm_cuda_broadcast(kBroadcastSum, gy, nullptr, gb, N, Co, L);
  return 0;
}

}  // extern "C"
