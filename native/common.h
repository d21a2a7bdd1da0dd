// Shared declarations of the native cpu backend: ISA selection, thread count, and the
// per-ISA kernel tables. Nothing here knows about JavaScript (see addon.cpp for the N-API glue).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cbdm {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

/** Best ISA this CPU supports (checked once with __builtin_cpu_supports). */
Isa detect_isa();
/** ISA the kernels dispatch to now (≤ detect_isa()). */
Isa current_isa();
/** Select an ISA; clamps to what the CPU supports and returns the one in use. */
Isa set_isa(Isa want);
const char* isa_name(Isa isa);

/** OpenMP thread count used by every kernel (default: number of cores). */
int threads();
void set_threads(int n);

// The kernels' explicit settings, set by the addon (from the settings src/engine/cpu/settings.ts
// reads once at start-up); no kernel reads the environment.
/** Convolutions asked to compute in bf16 (they do where the CPU has AVX512-BF16). */
bool precision_bf16();
void set_precision_bf16(bool on);
/** Every convolution through the fp32 im2col gemm, no direct kernel (a comparison aid). */
bool conv_gemm_only();
void set_conv_gemm_only(bool on);
/** The gemm's cache blocking override {mc, kc, nc}, all 0 = the microkernel's own (a tuning aid). */
struct GemmBlock { int mc, kc, nc; };
GemmBlock gemm_block();
void set_gemm_block(GemmBlock b);

/**
 * A gemm microkernel: C(rows×n, row stride ldc) = alpha·Ap·Bp + beta·C over kc steps, where Ap is
 * a packed mr-row panel (kc×mr, k-major) and Bp a packed nr-column panel (kc×nr, k-major); `rows`
 * is fixed per kernel instance (≤ mr) and n ≤ nr columns are written.
 * beta == 0 means C is not read (so NaN garbage in C is overwritten, as in the js kernel).
 */
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, ptrdiff_t ldc, float alpha, float beta, int n);

constexpr int kMaxMR = 16;

struct GemmKernel {
  int mr, nr;
  int mc, kc, nc;                 // cache blocking for this microkernel
  MicroKernel rows[kMaxMR + 1];   // rows[m]: kernel writing m rows (rows[mr] = the full tile)
  bool masked_n;                  // kernels handle n < nr columns themselves
};

GemmKernel gemm_kernel_avx512();
GemmKernel gemm_kernel_avx2();
GemmKernel gemm_kernel_scalar();
GemmKernel gemm_kernel(Isa isa);

}  // namespace cbdm
