// cuBLAS through dlopen: the library path comes from the caller (src/engine/cuda/load.ts picks
// CBDM_CUBLAS, the CUDA install, or PyTorch's nvidia/cublas/lib), so nothing links against
// libcublas at build time. Row-major products map onto column-major cuBLAS by computing
// Cᵀ = op(B)ᵀ·op(A)ᵀ: the row-major buffers of B and A are, read column-major, Bᵀ and Aᵀ.
#include "cublas.h"
#include "core.h"
#include "cublas_api.h"
#include <dlfcn.h>
#include <cstdio>
#include <string>

namespace cbdm_cuda {
namespace {
struct Cublas {
  void* lib = nullptr;
  cublasHandle_t handle = nullptr;
  cublasSgemmStridedBatched_fn sgemm_strided_batched = nullptr;
  cublasSetMathMode_fn set_math_mode = nullptr;
  std::string path;
};
Cublas g_cublas;
constexpr int64_t kIntMax = 2147483647;
}  // namespace

bool cublas_loaded() { return g_cublas.handle != nullptr; }

int cublas_gemm_row_major(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t sA,
                          const float* B, int64_t sB, float beta, float* C, int64_t sC, int64_t batch) {
  if (M > kIntMax || N > kIntMax || K > kIntMax || batch > kIntMax) return kErrorTooLarge;
  // Column-major call: m = N, n = M; first operand is B (op T when stored N×K), leading dimension
  // = its row length in row-major storage; second is A likewise; C's leading dimension is N.
  const int opB = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int opA = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ldb = static_cast<int>(trans_b ? K : N);
  const int lda = static_cast<int>(trans_a ? M : K);
  const int ldc = static_cast<int>(N);
  const cublasStatus_t s = g_cublas.sgemm_strided_batched(g_cublas.handle, opB, opA, static_cast<int>(N), static_cast<int>(M),
                                                          static_cast<int>(K), &alpha, B, ldb < 1 ? 1 : ldb, sB, A,
                                                          lda < 1 ? 1 : lda, sA, &beta, C, ldc < 1 ? 1 : ldc, sC,
                                                          static_cast<int>(batch));
  return s == CUBLAS_STATUS_SUCCESS ? 0 : kCublasErrorBase + s;
}
}  // namespace cbdm_cuda

using cbdm_cuda::g_cublas;

extern "C" int cbdm_cuda_load_cublas(const char* path, char* message, int message_len) {
  auto say = [&](const std::string& m) { std::snprintf(message, static_cast<size_t>(message_len), "%s", m.c_str()); return 1; };
  if (g_cublas.handle) return g_cublas.path == path ? 0 : say("cuBLAS already loaded from " + g_cublas.path);
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) return say(std::string("dlopen failed: ") + dlerror());
  auto create = reinterpret_cast<cublasCreate_fn>(dlsym(lib, "cublasCreate_v2"));
  auto set_math = reinterpret_cast<cublasSetMathMode_fn>(dlsym(lib, "cublasSetMathMode"));
  auto sgemm = reinterpret_cast<cublasSgemmStridedBatched_fn>(dlsym(lib, "cublasSgemmStridedBatched"));
  if (!create || !set_math || !sgemm) {
    dlclose(lib);
    return say(std::string(path) + " lacks cublasCreate_v2, cublasSetMathMode or cublasSgemmStridedBatched");
  }
  cublasHandle_t h = nullptr;
  const cublasStatus_t s = create(&h);
  if (s != CUBLAS_STATUS_SUCCESS) {
    dlclose(lib);
    return say("cublasCreate_v2 failed with status " + std::to_string(s));
  }
  // Plain fp32 products until cbdm_cuda_set_gemm_tf32 asks for TF32 (CBDM_CUDA_MATH=tf32).
  set_math(h, CUBLAS_DEFAULT_MATH);
  g_cublas.lib = lib;
  g_cublas.handle = h;
  g_cublas.sgemm_strided_batched = sgemm;
  g_cublas.set_math_mode = set_math;
  g_cublas.path = path;
  return 0;
}

extern "C" int cbdm_cuda_set_gemm_tf32(int tf32) {
  if (!g_cublas.handle) return cbdm_cuda::kErrorNoCublas;
  const cublasStatus_t s = g_cublas.set_math_mode(g_cublas.handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  return s == CUBLAS_STATUS_SUCCESS ? 0 : cbdm_cuda::kCublasErrorBase + s;
}

extern "C" const char* cbdm_cuda_gemm_library(void) { return g_cublas.path.c_str(); }
