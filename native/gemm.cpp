// sgemm driver: BLIS-style loops jc (NC) → pc (KC, pack B) → ic (MC, pack A) → jr (NR) → ir (MR)
// around the microkernel of the selected ISA. Panels are zero-padded to MR/NR; edge tiles use the
// ISA's row-count/masked kernel variants when it has them, else run the full microkernel into a
// scratch tile that is then merged into C.
//
// Threads: C is cut into stripes along its larger dimension, aligned to MR (rows) or NR
// (columns). Large row-striped problems share each packed B block (packed by all threads
// together); otherwise each stripe runs the serial algorithm with its own buffers (packing the
// shared operand redundantly, but with no barrier until the end).
// Stripe edges are tile edges, so every C element sees the same arithmetic for any thread count
// (bit-identical results).
#include "gemm.h"
#include "common.h"
#include <omp.h>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <algorithm>

namespace cbdm {

namespace {

struct Scratch {
  float* a = nullptr;
  float* b = nullptr;
  size_t na = 0, nb = 0;
  ~Scratch() { std::free(a); std::free(b); }
};

thread_local Scratch tls;

constexpr int kMaxMC = 2048;
constexpr int kMaxPanels = kMaxMC / 4 + 2;  // the smallest MR is 4 (scalar)

bool ensure(float*& p, size_t& have, size_t need) {
  if (have >= need) return true;
  std::free(p);
  size_t bytes = ((need * sizeof(float) + 63) / 64) * 64;
  p = static_cast<float*>(std::aligned_alloc(64, bytes));
  have = p ? need : 0;
  return p != nullptr;
}

// Heights of the row panels covering mc rows: full mr panels, except that with `balance` a short
// remainder (< mr/2 rows, which would run a latency-bound kernel) shares the last two panels
// evenly with the full panel before it (128 rows, mr 14: 8×14 + 8 + 8 instead of 9×14 + 2).
int row_panels(int mc, int mr, bool balance, int* h) {
  int np = 0, left = mc;
  while (left > 0) {
    if (balance && left > mr && left < mr + mr / 2) {
      h[np++] = (left + 1) / 2;
      h[np++] = left / 2;
      break;
    }
    h[np] = std::min(mr, left);
    left -= h[np++];
  }
  return np;
}

// dst: np panels, each kc×mr (k-major, stride mr whatever the panel's height); rows past a
// panel's height are zero.
void pack_a_dense(bool tA, const float* A, ptrdiff_t lda, int i0, int k0, const int* h, int np, int kc, int mr, float* dst) {
  int ir = 0;
  for (int p = 0; p < np; ir += h[p++]) {
    const int m = h[p];
    float* d = dst + static_cast<ptrdiff_t>(p) * mr * kc;
    if (tA) {
      // A stored K×M: row k holds op(A)(·, k) contiguously.
      for (int k = 0; k < kc; k++) {
        const float* s = A + static_cast<ptrdiff_t>(k0 + k) * lda + i0 + ir;
        float* dk = d + static_cast<ptrdiff_t>(k) * mr;
        int i = 0;
        for (; i < m; i++) dk[i] = s[i];
        for (; i < mr; i++) dk[i] = 0.0f;
      }
    } else {
      // k outer, rows inner: contiguous writes, m sequential read streams (a k-major panel can
      // exceed L1, so strided writes per row would miss on every store).
      const float* rows[kMaxMR];
      for (int i = 0; i < m; i++) rows[i] = A + static_cast<ptrdiff_t>(i0 + ir + i) * lda + k0;
      for (int k = 0; k < kc; k++) {
        float* dk = d + static_cast<ptrdiff_t>(k) * mr;
        int i = 0;
        for (; i < m; i++) dk[i] = rows[i][k];
        for (; i < mr; i++) dk[i] = 0.0f;
      }
    }
  }
}

// dst: ceil(nc/nr) panels, each kc×nr (k-major); columns past nc are zero.
void pack_b_dense(bool tB, const float* B, ptrdiff_t ldb, int k0, int j0, int kc, int nc, int nr, float* dst) {
  for (int jr = 0; jr < nc; jr += nr) {
    const int n = std::min(nr, nc - jr);
    float* d = dst + static_cast<ptrdiff_t>(jr) * kc;
    if (tB) {
      // B stored N×K: row j holds op(B)(·, j) contiguously. k outer, columns inner, as in pack_a.
      const float* cols[64];
      for (int j = 0; j < n; j++) cols[j] = B + static_cast<ptrdiff_t>(j0 + jr + j) * ldb + k0;
      for (int k = 0; k < kc; k++) {
        float* dk = d + static_cast<ptrdiff_t>(k) * nr;
        int j = 0;
        for (; j < n; j++) dk[j] = cols[j][k];
        for (; j < nr; j++) dk[j] = 0.0f;
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float* s = B + static_cast<ptrdiff_t>(k0 + k) * ldb + j0 + jr;
        float* dk = d + static_cast<ptrdiff_t>(k) * nr;
        std::memcpy(dk, s, sizeof(float) * n);
        for (int j = n; j < nr; j++) dk[j] = 0.0f;
      }
    }
  }
}

void scale_c(int M, int N, float beta, float* C, ptrdiff_t ldc) {
  for (int i = 0; i < M; i++) {
    float* c = C + static_cast<ptrdiff_t>(i) * ldc;
    if (beta == 0.0f) std::memset(c, 0, sizeof(float) * N);
    else for (int j = 0; j < N; j++) c[j] *= beta;
  }
}

// Rows per A block: MC, or with row-variant kernels M split into equal blocks of ≤ MC rows.
int m_step(const GemmKernel& kr, int M) {
  const int nblk = (M + kr.mc - 1) / kr.mc;
  return kr.rows[1] != nullptr ? (M + nblk - 1) / nblk : kr.mc;
}

// The A-block loop of one thread for one packed B block (kc × nc, at k offset pc, column jc of
// this C block): pack A per MC block (or use the prepacked one) and run the microkernels.
bool a_blocks(const GemmKernel& kr, int M, int nc, int kc, float alpha, const ASource& A, int i_off, int pc,
              const float* bpack, float bet, float* C, ptrdiff_t ldc) {
  const int MR = kr.mr, NR = kr.nr;
  // Kernels with row-count variants get balanced blocks and panels (no thin edge tiles); the
  // others keep MR-aligned blocks so that edge tiles sit at the same places for any stripe.
  const bool balance = kr.rows[1] != nullptr;
  const int mstep = m_step(kr, M);
  const int mcap = std::min(mstep, ((M + MR - 1) / MR) * MR) + MR;
  if (!ensure(tls.a, tls.na, static_cast<size_t>(mcap) * kc)) return false;
  int heights[kMaxPanels];  // mstep ≤ MC ≤ kMaxMC, so at most kMaxMC/MR + 1 panels
  alignas(64) float tile[16 * 64];
  for (int ic = 0; ic < M; ic += mstep) {
    const int mc = std::min(mstep, M - ic);
    const int np = row_panels(mc, MR, balance, heights);
    const float* apack = A.packed(M, i_off + ic, mc, pc, kc);
    if (!apack) {
      A.pack(i_off + ic, pc, heights, np, kc, MR, tls.a);
      apack = tls.a;
    }
    for (int jr = 0; jr < nc; jr += NR) {
      const int n = std::min(NR, nc - jr);
      const float* bp = bpack + static_cast<ptrdiff_t>(jr) * kc;
      for (int p = 0, ir = 0; p < np; ir += heights[p++]) {
        const int m = heights[p];
        const float* ap = apack + static_cast<ptrdiff_t>(p) * MR * kc;
        float* c = C + static_cast<ptrdiff_t>(ic + ir) * ldc + jr;
        const MicroKernel direct = kr.rows[m];
        if (direct && (n == NR || kr.masked_n)) {
          direct(kc, ap, bp, c, ldc, alpha, bet, n);
        } else {
          kr.rows[MR](kc, ap, bp, tile, NR, 1.0f, 0.0f, NR);
          for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
              const float r = alpha * tile[i * NR + j];
              c[static_cast<ptrdiff_t>(i) * ldc + j] = bet == 0.0f ? r : r + bet * c[static_cast<ptrdiff_t>(i) * ldc + j];
            }
        }
      }
    }
  }
  return true;
}

// Columns per packed B block. BLIS sizes it (NC) for an L3-resident block that many A blocks
// reuse. With few rows (M within one A block: conv layers of 32–64 channels) the block is used by
// one A block only, so an NC-wide block (KC·NC floats, megabytes) just round-trips through memory:
// then keep it at ≈ 256 KB, which stays in L2 between packing and use. The k order of every C
// element is unchanged (only the column blocking differs), so results stay bit-identical.
int serial_nc(const GemmKernel& kr, int M, int K) {
  if (M > m_step(kr, M)) return kr.nc;
  const int kc = std::min(kr.kc, K);
  const int cols = (65536 / kc) / kr.nr * kr.nr;
  return std::max(kr.nr, std::min(kr.nc, cols));
}

// One thread's blocked gemm over the full K range for an M×N block of C.
bool gemm_serial(const GemmKernel& kr, int M, int N, int K, float alpha,
                 const ASource& A, int i_off, const BSource& B, int j_off, float beta, float* C, ptrdiff_t ldc) {
  const int NR = kr.nr, KC = kr.kc, NC = serial_nc(kr, M, K);
  const int ncap = std::min(NC, ((N + NR - 1) / NR) * NR);
  if (!ensure(tls.b, tls.nb, static_cast<size_t>(ncap) * std::min(KC, K))) return false;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kc = std::min(KC, K - pc);
      B.pack(pc, j_off + jc, kc, nc, NR, tls.b);
      if (!a_blocks(kr, M, nc, kc, alpha, A, i_off, pc, tls.b, pc == 0 ? beta : 1.0f, C + jc, ldc)) return false;
    }
  }
  return true;
}

// Threads over row stripes of C (aligned to MR) sharing one packed B block: the threads pack its
// NR panels together, then each runs its stripe's A blocks against it.
bool gemm_rows_shared_b(const GemmKernel& kr, int M, int N, int K, float alpha, const ASource& A,
                        const BSource& B, float beta, float* C, ptrdiff_t ldc, int nt) {
  const int MR = kr.mr, NR = kr.nr, KC = kr.kc, NC = kr.nc;
  const int ncap = std::min(NC, ((N + NR - 1) / NR) * NR);
  if (!ensure(tls.b, tls.nb, static_cast<size_t>(ncap) * std::min(KC, K))) return false;
  float* shared = tls.b;  // the calling thread's buffer, read by all
  const int tiles = (M + MR - 1) / MR;
  bool ok = true;
#pragma omp parallel num_threads(nt) reduction(&& : ok)
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    const int lo = static_cast<int>(static_cast<long>(tiles) * t / T) * MR;
    const int hi = std::min(static_cast<int>(static_cast<long>(tiles) * (t + 1) / T) * MR, M);
    for (int jc = 0; jc < N; jc += NC) {
      const int nc = std::min(NC, N - jc);
      for (int pc = 0; pc < K; pc += KC) {
        const int kc = std::min(KC, K - pc);
        const int panels = (nc + NR - 1) / NR;
#pragma omp for schedule(static)
        for (int q = 0; q < panels; q++)
          B.pack(pc, jc + q * NR, kc, std::min(NR, nc - q * NR), NR, shared + static_cast<ptrdiff_t>(q) * NR * kc);
        // (implicit barrier: the block is packed)
        if (hi > lo)
          ok = a_blocks(kr, hi - lo, nc, kc, alpha, A, lo, pc, shared, pc == 0 ? beta : 1.0f,
                        C + static_cast<ptrdiff_t>(lo) * ldc + jc, ldc) && ok;
#pragma omp barrier
      }
    }
  }
  return ok;
}

}  // namespace

PrepackedA::PrepackedA(const ASource& s, int M_, int K_) : src(s), M(M_), K(K_) {
  if (M <= 0 || K <= 0) return;
  const GemmKernel kr = gemm_kernel(current_isa());
  mstep = m_step(kr, M);
  kcb = kr.kc;
  const bool balance = kr.rows[1] != nullptr;
  const size_t per_row_block = static_cast<size_t>(mstep / kr.mr + 2) * kr.mr * static_cast<size_t>(K);
  const size_t blocks = static_cast<size_t>((M + mstep - 1) / mstep);
  data = static_cast<float*>(std::aligned_alloc(64, ((blocks * per_row_block * sizeof(float) + 63) / 64) * 64));
  if (!data) return;
  int heights[kMaxPanels];
  for (int ic = 0; ic < M; ic += mstep) {
    const int mc = std::min(mstep, M - ic);
    const int np = row_panels(mc, kr.mr, balance, heights);
    float* blk = data + static_cast<size_t>(ic / mstep) * per_row_block;
    for (int pc = 0; pc < K; pc += kcb) {
      const int kc = std::min(kcb, K - pc);
      src.pack(ic, pc, heights, np, kc, kr.mr, blk + static_cast<size_t>(np) * kr.mr * pc);
    }
  }
}

PrepackedA::~PrepackedA() { std::free(data); }
bool PrepackedA::ok() const { return data != nullptr || M == 0 || K == 0; }
void PrepackedA::pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const { src.pack(i0, k0, h, np, kc, mr, dst); }
const float* ASource::packed(int, int, int, int, int) const { return nullptr; }
DenseA::DenseA(bool t_, const float* a_, ptrdiff_t lda_) : t(t_), a(a_), lda(lda_) {}
DenseB::DenseB(bool t_, const float* b_, ptrdiff_t ldb_) : t(t_), b(b_), ldb(ldb_) {}

const float* PrepackedA::packed(int M_, int i0, int mc, int k0, int kc) const {
  // Valid only for the block layout the constructor used: same M, a block start, KC-aligned k.
  if (!data || M_ != M || i0 % mstep != 0 || mc != std::min(mstep, M - i0) || k0 % kcb != 0 || kc != std::min(kcb, K - k0))
    return nullptr;
  const GemmKernel kr = gemm_kernel(current_isa());
  const size_t per_row_block = static_cast<size_t>(mstep / kr.mr + 2) * kr.mr * static_cast<size_t>(K);
  int heights[kMaxPanels];
  const int np = row_panels(mc, kr.mr, kr.rows[1] != nullptr, heights);
  return data + static_cast<size_t>(i0 / mstep) * per_row_block + static_cast<size_t>(np) * kr.mr * k0;
}

void DenseA::pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const {
  pack_a_dense(t, a, lda, i0, k0, h, np, kc, mr, dst);
}

void DenseB::pack(int k0, int j0, int kc, int nc, int nr, float* dst) const {
  pack_b_dense(t, b, ldb, k0, j0, kc, nc, nr, dst);
}

bool sgemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, ptrdiff_t lda,
           const float* B, ptrdiff_t ldb, float beta, float* C, ptrdiff_t ldc, int nthreads) {
  return sgemm_packed(M, N, K, alpha, DenseA(tA, A, lda), DenseB(tB, B, ldb), beta, C, ldc, nthreads);
}

bool sgemm_packed(int M, int N, int K, float alpha, const ASource& A, const BSource& B,
                  float beta, float* C, ptrdiff_t ldc, int nthreads) {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return true;
  }
  GemmKernel kr = gemm_kernel(current_isa());
  if (const GemmBlock blk = gemm_block(); blk.mc > 0) {  // tuning aid (settings.gemmBlock)
    kr.mc = std::min(kMaxMC / kr.mr * kr.mr, (blk.mc + kr.mr - 1) / kr.mr * kr.mr);
    kr.kc = blk.kc;
    kr.nc = (blk.nc + kr.nr - 1) / kr.nr * kr.nr;
  }
  // A thread pays off above a few Mflop (~30 µs) of work: waking it costs microseconds on an idle
  // machine and up to a scheduler tick on a busy one.
  const double flops = 2.0 * M * N * static_cast<double>(K);
  int nt = std::max(1, std::min(nthreads, static_cast<int>(flops / 4e6)));
  const bool split_m = static_cast<double>(M) / kr.mr >= static_cast<double>(N) / kr.nr;
  const int unit = split_m ? kr.mr : kr.nr;
  const int tiles = ((split_m ? M : N) + unit - 1) / unit;
  nt = std::min(nt, tiles);
  if (nt <= 1) {
    return gemm_serial(kr, M, N, K, alpha, A, 0, B, 0, beta, C, ldc);
  }
  // Sharing B costs two barriers per KC block: worth it only when each thread then has tens of
  // Mflop to do (a barrier can cost a scheduler tick on a busy machine).
  const double flops_per_sync = 2.0 * M * N * std::min(K, kr.kc) / nt;
  if (split_m && flops_per_sync >= 5e7) return gemm_rows_shared_b(kr, M, N, K, alpha, A, B, beta, C, ldc, nt);
  bool ok = true;
#pragma omp parallel num_threads(nt) reduction(&& : ok)
  {
    const int t = omp_get_thread_num();
    const int T = omp_get_num_threads();
    const int t0 = static_cast<int>(static_cast<long>(tiles) * t / T);
    const int t1 = static_cast<int>(static_cast<long>(tiles) * (t + 1) / T);
    const int lo = t0 * unit;
    const int hi = std::min(t1 * unit, split_m ? M : N);
    if (hi > lo) {
      if (split_m)
        ok = gemm_serial(kr, hi - lo, N, K, alpha, A, lo, B, 0, beta, C + static_cast<ptrdiff_t>(lo) * ldc, ldc);
      else
        ok = gemm_serial(kr, M, hi - lo, K, alpha, A, 0, B, lo, beta, C + lo, ldc);
    }
  }
  return ok;
}

}  // namespace cbdm
