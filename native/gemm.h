// Blocked, packed, multi-threaded sgemm (the BLIS loop structure around a per-ISA microkernel).
#pragma once
#include <cstddef>

namespace cbdm {

/**
 * C(M×N) = alpha·op(A)·op(B) + beta·C, row-major with row strides lda, ldb, ldc.
 * op(A) is M×K (A stored K×M when tA), op(B) is K×N (B stored N×K when tB). beta == 0 ignores C.
 * Runs on up to `nthreads` OpenMP threads; each C element is computed by one thread in a fixed
 * k order, so the result does not depend on the thread count. Returns false if out of memory.
 */
bool sgemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, ptrdiff_t lda,
           const float* B, ptrdiff_t ldb, float beta, float* C, ptrdiff_t ldc, int nthreads);

/**
 * Where op(A) comes from: packs `np` row panels (heights h[p] ≤ mr, starting at row i0) over the
 * k range [k0, k0 + kc) into dst, panel p at dst + p·mr·kc, element (i, k) at [k·mr + i]; rows
 * past a panel's height are zero. Lets a caller pack straight from its own layout (implicit
 * im2col) instead of materialising the matrix.
 */
struct ASource {
  virtual void pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const = 0;
  /** Already packed data for the block of rows [i0, i0 + mc) × k [k0, k0 + kc) of an M-row
   *  operand, or null (then `pack` is called). See PrepackedA. */
  virtual const float* packed(int M, int i0, int mc, int k0, int kc) const;
};

/** Where op(B) comes from: packs columns [j0, j0 + nc) × k [k0, k0 + kc) into ⌈nc/nr⌉ panels of
 *  kc×nr (panel q at dst + q·nr·kc, element (k, j) at [k·nr + j]); columns past nc are zero. */
struct BSource {
  virtual void pack(int k0, int j0, int kc, int nc, int nr, float* dst) const = 0;
};

/** sgemm with operands given by their packers (same threading and determinism as sgemm). */
bool sgemm_packed(int M, int N, int K, float alpha, const ASource& A, const BSource& B,
                  float beta, float* C, ptrdiff_t ldc, int nthreads);

/**
 * op(A) packed once in the exact block layout the gemm uses single-threaded for an M×K operand
 * (e.g. conv weights shared by every image of a batch), so repeated gemms skip re-packing it.
 * Other block shapes (a threaded gemm's stripes) fall back to packing from `src`.
 */
struct PrepackedA final : ASource {
  const ASource& src;
  int M = 0, K = 0, mstep = 0, kcb = 0;
  float* data = nullptr;   // blocks in (ic, pc) order
  PrepackedA(const ASource& s, int M, int K);
  ~PrepackedA();
  bool ok() const;
  void pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const override;
  const float* packed(int M, int i0, int mc, int k0, int kc) const override;
};

/** Dense row-major operands as sources (what sgemm uses). Members are defined out of line in
 *  gemm.cpp: an inline member used by an ISA translation unit could be emitted with its flags. */
struct DenseA final : ASource {
  bool t; const float* a; ptrdiff_t lda;
  DenseA(bool t_, const float* a_, ptrdiff_t lda_);
  void pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const override;
};
struct DenseB final : BSource {
  bool t; const float* b; ptrdiff_t ldb;
  DenseB(bool t_, const float* b_, ptrdiff_t ldb_);
  void pack(int k0, int j0, int kc, int nc, int nr, float* dst) const override;
};

}  // namespace cbdm
