// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// bf16 compute (CBDM_PRECISION=bf16 on CPUs with AVX512-BF16): inputs and weights rounded to
// bfloat16 (round to nearest even), products exact, sums in fp32 — vdpbf16ps does two
// multiply-adds per lane per instruction, twice the FP32 FMA rate (measured on Zen 4: 2.07×).
// k runs over (channel pair, p, q): the padded input is stored channel-pair-interleaved, so the
// two bf16 values a lane needs at one position are one 32-bit broadcast, as in the fp32 tile.
inline uint32_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;  // NaN stays NaN
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
inline uint32_t bf16_pair(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

#if defined(__AVX512F__)
// Whether this call computes in bf16: asked for, and the CPU can.
bool cv_bf16() {
  static const bool cpu = (__builtin_cpu_init(), __builtin_cpu_supports("avx512bf16"));
  return cpu && precision_bf16();
}

// Whether the bf16 kernels may run: bf16 compute, and the direct kernels not turned off
// (convKernels = 'gemm' sends every convolution to the fp32 im2col gemm).
bool bf16_kernels() { return cv_bf16() && !conv_gemm_only(); }

template <int NV>
__attribute__((target("avx512bf16"))) void cv_tile_bf16(const uint32_t* xp, const int32_t* kofs, int64_t K, const uint32_t* wk,
                                                         const float* bias, float* out, int64_t Cout, int64_t Lo, int64_t Wo,
                                                         int64_t plane_n, int64_t Wp, int64_t s, int64_t p0, int64_t np, int64_t co0) {
  constexpr int R = CvTile<NV>::R;
  int64_t off[R];
  cv_offsets<R>(off, p0, np, Lo, Wo, plane_n, Wp, s);
  __m512 acc[R][NV];
  for (int v = 0; v < NV; v++) {
    const __m512 b0 = bias ? _mm512_loadu_ps(bias + co0 + v * 16) : _mm512_setzero_ps();
    for (int r = 0; r < R; r++) acc[r][v] = b0;
  }
  const uint32_t* wrow = wk + co0;
  for (int64_t k = 0; k < K; k++, wrow += Cout) {
    __m512bh wv[NV];
    for (int v = 0; v < NV; v++) wv[v] = (__m512bh)_mm512_loadu_si512(wrow + v * 16);
    const uint32_t* xk = xp + kofs[k];
    for (int r = 0; r < R; r++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(xk[off[r]]));
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, wv[v]);
    }
  }
  for (int r = 0; r < np; r++) {
    float t[NV * 16];
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(t + v * 16, acc[r][v]);
    cv_store(out, Cout, Lo, p0 + r, co0, t, NV * 16);
  }
}

// src[0 … W) as bf16 (vcvtneps2bf16: round to nearest even like bf16_bits, except that fp32
// denormals become ±0): s = 1 → dst[w]; s = 2 → even w to de[w / 2], odd w to dodd[w / 2].
__attribute__((target("avx512bf16"))) void bf16_split_row(const float* src, int64_t W, int64_t s, uint16_t* de, uint16_t* dodd) {
  int64_t w = 0;
  if (s == 1) {
    for (; w + 16 <= W; w += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(de + w), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + w)));
    for (; w < W; w++) de[w] = static_cast<uint16_t>(bf16_bits(src[w]));
    return;
  }
  const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  for (; w + 32 <= W; w += 32) {
    const __m512 a = _mm512_loadu_ps(src + w), b = _mm512_loadu_ps(src + w + 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(de + w / 2), (__m256i)_mm512_cvtneps_pbh(_mm512_permutex2var_ps(a, ie, b)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dodd + w / 2), (__m256i)_mm512_cvtneps_pbh(_mm512_permutex2var_ps(a, io, b)));
  }
  for (; w < W; w++) (w % 2 ? dodd : de)[w / 2] = static_cast<uint16_t>(bf16_bits(src[w]));
}

// bf16 backward-weight, Wo even: gw[co][k] = Σ_n Σ_pos col[k][pos] · gy[n, co, pos] with
// k = (ci, p, q) and positions taken in pairs along a row — the pair (pos, pos + 1) of col row k
// is two adjacent bf16 values of the padded input, one 32-bit broadcast; gy is transposed into
// position-pair-interleaved rows gyt[n][pos / 2][co]. Stride s > 1 makes the pair's inputs s
// columns apart, so each padded row is stored de-interleaved by column residue mod s (all
// columns ≡ 0, then all ≡ 1, …): column s·ow + q sits at section q mod s, index ow + q / s, and
// the pair is adjacent again. A tile of R k-rows × NV vectors of output
// channels sums over all images and positions in a fixed order (thread-count independent).
template <int NV>
__attribute__((target("avx512bf16"))) void cvw_tile_bf16(const uint16_t* xb, const uint32_t* gyt, const int32_t* kofs, int64_t k0,
                                                          int64_t nk, float* gw, int64_t K, int64_t Co, int64_t N, int64_t Ho,
                                                          int64_t Wo, int64_t plane_n, int64_t rowstep, int64_t co0) {
  constexpr int R = CvTile<NV>::R;
  int64_t kk[R];
  for (int r = 0; r < R; r++) kk[r] = kofs[k0 + (r < nk ? r : 0)];
  __m512 acc[R][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
  const int64_t pairs = Ho * Wo / 2;
  for (int64_t n = 0; n < N; n++) {
    const uint32_t* gn = gyt + n * pairs * Co + co0;
    for (int64_t oh = 0; oh < Ho; oh++) {
      const uint16_t* xr = xb + n * plane_n + oh * rowstep;
      for (int64_t ow = 0; ow < Wo; ow += 2) {
        const uint32_t* gp = gn + ((oh * Wo + ow) / 2) * Co;
        __m512bh b[NV];
        for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_si512(gp + v * 16);
        const uint16_t* xo = xr + ow;
        for (int r = 0; r < R; r++) {
          uint32_t pr;
          std::memcpy(&pr, xo + kk[r], sizeof pr);
          const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(pr));
          for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
        }
      }
    }
  }
  for (int r = 0; r < nk; r++)
    for (int v = 0; v < NV; v++) {
      float t[16];
      _mm512_storeu_ps(t, acc[r][v]);
      for (int i = 0; i < 16; i++) gw[(co0 + v * 16 + i) * K + k0 + r] = t[i];
    }
}

bool cvw_bf16_ok(const ConvGeom& g) {
  return bf16_kernels() && g.stride <= 4 && g.Wo % 2 == 0 && g.Co % 16 == 0 && g.N > 0;
}

bool conv2d_backward_weight_bf16(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt) {
  const int64_t Hp = g.H + 2 * g.pad, Wp = g.W + 2 * g.pad, plane = Hp * Wp, K = g.Ci * g.KH * g.KW, Lo = g.Ho * g.Wo;
  const int64_t s = g.stride;
  int64_t sec[4] = {0, 0, 0, 0};  // where the columns ≡ r (mod s) start in a stored row
  for (int64_t r = 1; r < s; r++) sec[r] = sec[r - 1] + (Wp - (r - 1) + s - 1) / s;
  // the last pair of a row reads one element past the padded row's end: one spare element
  uint16_t* xb = static_cast<uint16_t*>(std::aligned_alloc(64, ((g.N * g.Ci * plane * 2 + 2 + 63) / 64) * 64));
  uint32_t* gyt = static_cast<uint32_t*>(std::aligned_alloc(64, ((g.N * Lo / 2 * g.Co * 4 + 63) / 64) * 64));
  int32_t* kofs = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * K));
  if (!xb || !gyt || !kofs || g.N * g.Ci * plane >= (int64_t(1) << 31)) { std::free(xb); std::free(gyt); std::free(kofs); return false; }
  xb[g.N * g.Ci * plane] = 0;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t nc = 0; nc < g.N * g.Ci; nc++) {
    uint16_t* d = xb + nc * plane;
    std::memset(d, 0, 2 * plane);
    for (int64_t h = 0; h < g.H; h++) {
      const float* src = x + (nc * g.H + h) * g.W;
      uint16_t* row = d + (h + g.pad) * Wp;
      if (s <= 2) {  // vectorised: w even → section pad % 2, w odd → the other (s = 1: one section)
        bf16_split_row(src, g.W, s, row + (s == 1 ? g.pad : sec[g.pad % 2] + g.pad / 2),
                       s == 1 ? nullptr : row + sec[(g.pad + 1) % 2] + (g.pad + 1) / 2);
        continue;
      }
      for (int64_t r = 0; r < s; r++) {  // padded columns c = r + s·j ≥ pad go to row[sec[r] + j]
        const int64_t j0 = g.pad > r ? (g.pad - r + s - 1) / s : 0;
        uint16_t* dst = row + sec[r];
        for (int64_t j = j0, w = r + s * j0 - g.pad; w < g.W; j++, w += s) dst[j] = static_cast<uint16_t>(bf16_bits(src[w]));
      }
    }
  }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t co = 0; co < g.Co; co++) {
      const float* src = gy + (n * g.Co + co) * Lo;
      uint32_t* d = gyt + n * (Lo / 2) * g.Co + co;
      for (int64_t j = 0; j < Lo / 2; j++) d[j * g.Co] = bf16_pair(src[2 * j], src[2 * j + 1]);
    }
  for (int64_t ci = 0; ci < g.Ci; ci++)
    for (int64_t p = 0; p < g.KH; p++)
      for (int64_t q = 0; q < g.KW; q++) kofs[(ci * g.KH + p) * g.KW + q] = int32_t(ci * plane + p * Wp + sec[q % s] + q / s);
  const int NV = int(imin(CV_NVMAX, g.Co / 16));
  const int64_t nvb = g.Co / 16, cob = (nvb + NV - 1) / NV;
  const int R = cv_rows(NV);
  const int64_t kt = (K + R - 1) / R, tiles = kt * cob;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t k0 = (t / cob) * R, nk = imin(R, K - k0), b = t % cob;
    const int64_t v0 = b * NV, nv = imin(NV, nvb - v0), co0 = v0 * 16;
    switch (nv) {
#define CVW_CASE(k) case k: cvw_tile_bf16<k>(xb, gyt, kofs, k0, nk, gw, K, g.Co, g.N, g.Ho, g.Wo, g.Ci * plane, s * Wp, co0); break;
      CVW_CASE(1) CVW_CASE(2) CVW_CASE(3) CVW_CASE(4)
#undef CVW_CASE
      default: break;
    }
  }
  std::free(xb);
  std::free(gyt);
  std::free(kofs);
  return true;
}

// bf16 GEMM for the convolutions that are matrix products without a shifted-window gather — 1×1
// forward and backward-data, and strided backward-data (col = wᵀ·gy, then col2im): per batch item
// n, C_n (M×N, ldc) = A (M×K) · B_n (K×N) (+ bias[i] per row). Vectorised along N, so C rows are
// stored contiguously (NCHW positions): A is packed as k-pairs Ap[i][k / 2] (one 32-bit broadcast
// per row), B as 64-column panels of k-pair-interleaved values Bp[panel][k / 2][64] (one 512-bit
// load per 16 columns). When N is a multiple of 16 the batch items' columns are concatenated
// (a panel may span items; each 16-column vector lies in one), so small maps (4×4, 8×8) fill
// whole panels; otherwise each item has its own panels. A tile of GB_R rows × 64 columns sums
// over all of K in registers: each output in a fixed order, thread-count independent.
constexpr int GB_R = 6, GB_NC = 64;

// Column vector v of a tile: its first output (row 0 of C) and how many of its 16 lanes are real.
struct GbCols { float* dst[4]; int cnt[4]; };

__attribute__((target("avx512bf16"))) void gb_tile(const uint32_t* ap, const uint32_t* bp, int64_t Kp, int64_t i0, int64_t nr,
                                                    const GbCols& cols, const float* bias, int64_t ldc) {
  __m512 acc[GB_R][4];
  for (int r = 0; r < GB_R; r++) {
    const __m512 b0 = bias ? _mm512_set1_ps(bias[i0 + (r < nr ? r : 0)]) : _mm512_setzero_ps();
    for (int v = 0; v < 4; v++) acc[r][v] = b0;
  }
  const uint32_t* arow[GB_R];
  for (int r = 0; r < GB_R; r++) arow[r] = ap + (i0 + (r < nr ? r : 0)) * Kp;
  for (int64_t k = 0; k < Kp; k++, bp += GB_NC) {
    __m512bh b[4];
    for (int v = 0; v < 4; v++) b[v] = (__m512bh)_mm512_load_si512(bp + v * 16);
    for (int r = 0; r < GB_R; r++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(arow[r][k]));
      for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
    }
  }
  for (int v = 0; v < 4; v++) {
    if (cols.cnt[v] <= 0) continue;
    const __mmask16 m = cols.cnt[v] >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols.cnt[v]) - 1);
    for (int r = 0; r < nr; r++) _mm512_mask_storeu_ps(cols.dst[v] + (i0 + r) * ldc, m, acc[r][v]);
  }
}

// Reused packing buffers of the calling thread (no page faults per call).
thread_local Buf tls_gb_a, tls_gb_b;

// Column layout of a batched product: joint (items' columns concatenated) or per item.
struct GbLayout {
  int64_t N, batches, panels_per, groups;  // groups × panels_per panels in all
  bool joint;
  GbLayout(int64_t N_, int64_t batches_) : N(N_), batches(batches_) {
    joint = N % 16 == 0 && batches > 1;
    groups = joint ? 1 : batches;
    panels_per = ((joint ? N * batches : N) + GB_NC - 1) / GB_NC;
  }
  // B column j of panel column space of group grp → (item, column within it); item −1 past the end
  void where(int64_t grp, int64_t j, int64_t& n, int64_t& l) const {
    if (!joint) { n = j < N ? grp : -1; l = j; return; }
    n = j < N * batches ? j / N : -1;
    l = j % N;
  }
};

// The tiles of C_n = A · B_n (+ bias) for packed Ap (M × Kp) and panels Bp.
void gb_run(const uint32_t* ap, const uint32_t* bp, int64_t M, const GbLayout& lay, int64_t Kp, float* c, int64_t c_bs, int64_t ldc,
            const float* bias, int nt) {
  const int64_t psize = Kp * GB_NC, rb = (M + GB_R - 1) / GB_R, np = lay.groups * lay.panels_per, tiles = np * rb;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    // panel-major: consecutive tiles share one B panel (kept in L1/L2) across row blocks
    const int64_t pg = t / rb, grp = pg / lay.panels_per, pj = pg % lay.panels_per, i0 = (t % rb) * GB_R;
    GbCols cols;
    for (int v = 0; v < 4; v++) {
      int64_t n, l;
      lay.where(grp, pj * GB_NC + v * 16, n, l);
      cols.cnt[v] = n < 0 ? 0 : int(imin(16, lay.N - l));
      cols.dst[v] = n < 0 ? c : c + n * c_bs + l;
    }
    gb_tile(ap, bp + pg * psize, Kp, i0, imin(GB_R, M - i0), cols, bias, ldc);
  }
}

// C_n = A · B_n (+ bias) with A[i][k] = a[i·a_sr + k·a_sc], C_n = c + n·c_bs, and B_n's rows
// from src.row(n, k, l0, len, dst): B_n[k][l0 … l0 + len) into dst (dense matrices, or im2col
// rows of an image read straight from x).
template <class BSrc>
bool gemm_bf16_src(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_sr, int64_t a_sc, const BSrc& src, float* c, int64_t c_bs,
                   int64_t ldc, int64_t batches, const float* bias, int nt) {
  const GbLayout lay(N, batches);
  const int64_t Kp = (K + 1) / 2, np = lay.groups * lay.panels_per, psize = Kp * GB_NC;
  uint32_t* ap = reinterpret_cast<uint32_t*>(tls_gb_a.get(static_cast<size_t>(M * Kp)));
  uint32_t* bp = reinterpret_cast<uint32_t*>(tls_gb_b.get(static_cast<size_t>(np * psize)));
  if (!ap || !bp) return false;
  const int64_t ib = (M + 15) / 16;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    // A in blocks of 16 rows × 16 k-pairs, walked along a's contiguous index (i when a_sr = 1,
    // a transposed A; k otherwise)
    auto pack_a = [&](int64_t i, int64_t k) {
      ap[i * Kp + k] = bf16_pair(a[i * a_sr + 2 * k * a_sc], 2 * k + 1 < K ? a[i * a_sr + (2 * k + 1) * a_sc] : 0.0f);
    };
#pragma omp for schedule(static)
    for (int64_t bi = 0; bi < ib; bi++)
      for (int64_t k0 = 0; k0 < Kp; k0 += 16) {
        const int64_t i1 = imin(M, bi * 16 + 16), k1 = imin(Kp, k0 + 16);
        if (a_sr == 1)
          for (int64_t k = k0; k < k1; k++)
            for (int64_t i = bi * 16; i < i1; i++) pack_a(i, k);
        else
          for (int64_t i = bi * 16; i < i1; i++)
            for (int64_t k = k0; k < k1; k++) pack_a(i, k);
      }
#pragma omp for schedule(static)
    for (int64_t t = 0; t < np * Kp; t++) {  // one k-pair row of one panel
      const int64_t pg = t / Kp, k = t % Kp, grp = pg / lay.panels_per, pj = pg % lay.panels_per;
      alignas(64) float lo[GB_NC], hi[GB_NC];
      for (int64_t v = 0; v < GB_NC;) {  // runs of 16-column vectors that lie in one item
        int64_t n, l;
        lay.where(grp, pj * GB_NC + v, n, l);
        if (n < 0) {
          for (int64_t j = v; j < GB_NC; j++) lo[j] = hi[j] = 0.0f;
          break;
        }
        const int64_t len = imin(GB_NC - v, N - l);
        src.row(n, 2 * k, l, len, lo + v);
        if (2 * k + 1 < K) src.row(n, 2 * k + 1, l, len, hi + v);
        else for (int64_t j = v; j < v + len; j++) hi[j] = 0.0f;
        const int64_t end = v + ((len + 15) / 16) * 16;
        for (int64_t j = v + len; j < end; j++) lo[j] = hi[j] = 0.0f;
        v = end;
      }
      uint32_t* d = bp + pg * psize + k * GB_NC;
      for (int64_t j = 0; j < GB_NC; j++) d[j] = bf16_pair(lo[j], hi[j]);
    }
  }
  gb_run(ap, bp, M, lay, Kp, c, c_bs, ldc, bias, nt);
  return true;
}

// B_n = b + n·b_bs, row stride ldb.
struct DenseRows {
  const float* b; int64_t b_bs, ldb;
  void row(int64_t n, int64_t k, int64_t l0, int64_t len, float* dst) const { std::memcpy(dst, b + n * b_bs + k * ldb + l0, sizeof(float) * len); }
};
// B_n = im2col(x_n) (R × Ho·Wo).
struct Im2colRows {
  const float* x; const ConvGeom& g;
  void row(int64_t n, int64_t k, int64_t l0, int64_t len, float* dst) const { col_row<true>(x + n * g.Ci * g.H * g.W, g, k, l0, len, dst, 1); }
};

bool gemm_bf16_batched(int64_t M, int64_t N, int64_t K, const float* a, int64_t a_sr, int64_t a_sc, const float* b, int64_t b_bs,
                       int64_t ldb, float* c, int64_t c_bs, int64_t ldc, int64_t batches, const float* bias, int nt) {
  return gemm_bf16_src(M, N, K, a, a_sr, a_sc, DenseRows{b, b_bs, ldb}, c, c_bs, ldc, batches, bias, nt);
}

// bf16 forward through the im2col gemm: y_n (Co × L) = w · im2col(x_n) + b.
bool conv2d_forward_bf16_gemm(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW;
  return gemm_bf16_src(g.Co, L, R, w, R, 1, Im2colRows{x, g}, y, g.Co * L, L, g.N, b, nt);
}

// bf16 1×1 backward-weight: gw (Co × Ci) = Σ_n gy_n · x_nᵀ, one gemm with k running over all
// images' positions (k = n·L + l): A = gy (k-pairs adjacent in a row when L is even), B = xᵀ.
bool conv2d_backward_weight_pointwise_bf16(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt) {
  const int64_t L = g.H * g.W, K = g.N * L, Kp = (K + 1) / 2, panels = (g.Ci + GB_NC - 1) / GB_NC, psize = Kp * GB_NC;
  uint32_t* ap = reinterpret_cast<uint32_t*>(tls_gb_a.get(static_cast<size_t>(g.Co * Kp)));
  uint32_t* bp = reinterpret_cast<uint32_t*>(tls_gb_b.get(static_cast<size_t>(panels * psize)));
  if (!ap || !bp) return false;
  // value k of row c of an N × C × L tensor (0 past the end: an odd K pairs its last value with 0)
  auto at = [L, K](const float* t, int64_t C, int64_t c, int64_t k) { return k >= K ? 0.0f : t[((k / L) * C + c) * L + k % L]; };
  const bool even = L % 2 == 0;  // pairs never straddle two images: plain row walks
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#pragma omp for schedule(static)
    for (int64_t co = 0; co < g.Co; co++) {
      uint32_t* d = ap + co * Kp;
      if (even)
        for (int64_t n = 0; n < g.N; n++) {
          const float* r = gy + (n * g.Co + co) * L;
          for (int64_t l = 0; l < L; l += 2) *d++ = bf16_pair(r[l], r[l + 1]);
        }
      else
        for (int64_t k = 0; k < Kp; k++) d[k] = bf16_pair(at(gy, g.Co, co, 2 * k), at(gy, g.Co, co, 2 * k + 1));
    }
#pragma omp for schedule(static)
    for (int64_t k = 0; k < Kp; k++) {
      const float* xk = even ? x + ((2 * k) / L) * g.Ci * L + (2 * k) % L : nullptr;  // (image, position) of the pair
      for (int64_t pj = 0; pj < panels; pj++) {
        uint32_t* d = bp + pj * psize + k * GB_NC;
        for (int64_t j = 0; j < GB_NC; j++) {
          const int64_t ci = pj * GB_NC + j;
          d[j] = ci >= g.Ci ? 0u : even ? bf16_pair(xk[ci * L], xk[ci * L + 1]) : bf16_pair(at(x, g.Ci, ci, 2 * k), at(x, g.Ci, ci, 2 * k + 1));
        }
      }
    }
  }
  gb_run(ap, bp, g.Co, GbLayout(g.Ci, 1), Kp, gw, 0, g.Ci, nullptr, nt);
  return true;
}
#endif  // __AVX512F__
#if !defined(__AVX512F__)  // no bf16 kernels in the avx2 and scalar builds
bool cv_bf16() { return false; }
bool bf16_kernels() { return false; }
bool cvw_bf16_ok(const ConvGeom&) { return false; }
bool conv2d_backward_weight_bf16(const float*, const float*, float*, const ConvGeom&, int) { return false; }
bool gemm_bf16_batched(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                       int64_t, int64_t, const float*, int) { return false; }
bool conv2d_backward_weight_pointwise_bf16(const float*, const float*, float*, const ConvGeom&, int) { return false; }
bool conv2d_forward_bf16_gemm(const float*, const float*, const float*, float*, const ConvGeom&, int) { return false; }
#endif
