// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- direct backward-weight for 3×3, stride 1, pad 1 ----------------------------------------
// gwᵀ[tap][ci][co] = Σ_n Σ_{h,w} xp[n, ci, h+p, w+q] · gy[n, co, h, w], xp = x zero-padded by 1.
// Why: with few output channels an im2col gemm spends more time packing the 9×-redundant im2col
// matrix than multiplying (each packed element meets only Co multiply-adds). Here nothing is
// im2col-packed: the tile's R input channels are read straight from xp (R row streams, shifted by
// the tap), gy is transposed once per call into L × Co rows, and a tile of R channels × NV vectors
// of output channels accumulates in registers over all N·H·W positions (k order n, h, w: fixed,
// so the result does not depend on the thread count).
#if defined(__AVX512F__) || defined(__AVX2__)

// One tile: channels ci0..ci0+R−1 (R ≤ DW_R), output channels co0..co0+NV·VL−1, tap (p, q).
template <int R, int NV>
void dw_tile(const float* xp, const float* gyt, float* gw, const ConvGeom& g, int64_t Cp, int64_t ci0, int64_t co0, int tap) {
  const int64_t Hp = g.H + 2, Wp = g.W + 2, L = g.H * g.W, p = tap / 3, q = tap % 3;
  dwv acc[R][NV];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = dwv{};
  for (int64_t n = 0; n < g.N; n++) {
    const float* xn = xp + (n * g.Ci + ci0) * Hp * Wp + p * Wp + q;
    const float* gn = gyt + n * L * Cp + co0;
    for (int64_t h = 0; h < g.H; h++) {
      const float* rows[R];
      for (int i = 0; i < R; i++) rows[i] = xn + i * Hp * Wp + h * Wp;
      const float* gr = gn + h * g.W * Cp;
      for (int64_t w = 0; w < g.W; w++) {
        dwv b[NV];
        for (int v = 0; v < NV; v++) b[v] = dw_load(gr + w * Cp + v * DW_VL);
        for (int i = 0; i < R; i++) {
          const dwv a = dw_splat(rows[i][w]);
          for (int v = 0; v < NV; v++) acc[i][v] += a * b[v];
        }
      }
    }
  }
  float out[NV * DW_VL];
  for (int i = 0; i < R; i++) {
    for (int v = 0; v < NV; v++) std::memcpy(out + v * DW_VL, &acc[i][v], sizeof(dwv));
    for (int c = 0; c < NV * DW_VL && co0 + c < g.Co; c++) gw[((co0 + c) * g.Ci + ci0 + i) * 9 + tap] = out[c];
  }
}

template <int NV>
void dw_tile_r(int r, const float* xp, const float* gyt, float* gw, const ConvGeom& g, int64_t Cp, int64_t ci0, int64_t co0, int tap) {
  switch (r) {
#define DW_CASE(k) case k: dw_tile<k, NV>(xp, gyt, gw, g, Cp, ci0, co0, tap); break;
    DW_CASE(1) DW_CASE(2) DW_CASE(3) DW_CASE(4) DW_CASE(5) DW_CASE(6)
#if defined(__AVX512F__)
    DW_CASE(7) DW_CASE(8) DW_CASE(9) DW_CASE(10) DW_CASE(11) DW_CASE(12) DW_CASE(13) DW_CASE(14)
#endif
#undef DW_CASE
    default: break;
  }
}
#endif

// ---- direct 3×3 stride-1 pad-1 convolution (forward, and backward-data as its adjoint) --------
// out[n, co, l] = b[co] + Σ_ci Σ_tap w[co][ci][tap] · inp[n, ci, h+p, w+q], inp zero-padded by 1.
// A tile is R output channels × V output rows of one vector (a DW_VL-wide column strip; W is a
// multiple of the vector width). Its k loop runs over (ci, q): the V + 2 padded input rows of the
// strip, shifted by q, are loaded once and each feeds the up to 3 output rows it is a kernel row
// p of — V·3·R multiply-adds per V + 2 vector loads and 3·R weight broadcasts (the weights of each
// (ci, tap) are R contiguous floats, and a block's weights one contiguous run of Cin·9·R: the
// tile streams them in order instead of touching a cache line per tap: 1.3–1.4× at 256 channels).
// No im2col matrix, no packing beyond the one-off padded copy and weight reorder. Summation order
// per output: ci, then q, then p (fixed, so results do not depend on the thread count).
// Backward-data is this kernel on gy with the weights transposed and flipped (gx = conv(gy, w′),
// w′[ci][co][2−p][2−q]).
// Registers (AVX-512, 32): 6 × 4 accumulators + 6 input rows + 1 broadcast; measured on one core
// with the maps in cache, 64→64 at 16×16: 193 GFLOP/s (≈ 90 % of the FMA peak) vs 171 for the
// former 14 channels × 2 vectors tile. AVX2 (16 registers): 2 × 4 + 6 + 1.
#if defined(__AVX512F__)
constexpr int DC_R = 6, DC_V = 4;
#elif defined(__AVX2__)
constexpr int DC_R = 2, DC_V = 4;
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
template <int R, int V>
void dc_tile(const float* inp, const float* wb, const float* bias, float* out, int64_t Cin, int64_t Cout, int64_t H, int64_t W,
             int64_t n, int64_t co0, int64_t r0, int64_t c0, const ConvEpilogue* epi) {
  const int64_t Hp = H + 2, Wp = W + 2, L = H * W;
  dwv acc[R][V];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) acc[i][v] = dw_splat(bias ? bias[co0 + i] : 0.0f);
  const float* in_n = inp + n * Cin * Hp * Wp + r0 * Wp + c0;
  for (int64_t ci = 0; ci < Cin; ci++) {
    const float* strip = in_n + ci * Hp * Wp;
    const float* wk = wb + (co0 * Cin + ci * R) * 9;  // block co0 starts at co0·Cin·9; [ci][tap][R] inside
    for (int q = 0; q < 3; q++) {
      dwv x[V + 2];
      for (int j = 0; j < V + 2; j++) x[j] = dw_load(strip + j * Wp + q);
      for (int p = 0; p < 3; p++) {
        const float* wt = wk + (p * 3 + q) * R;
        for (int i = 0; i < R; i++) {
          const dwv a = dw_splat(wt[i]);
          for (int v = 0; v < V; v++) acc[i][v] += a * x[v + p];
        }
      }
    }
  }
  for (int i = 0; i < R; i++) {
    const int64_t nco = n * Cout + co0 + i;
    for (int v = 0; v < V; v++) dw_store_epilogue(out, nco * L + (r0 + v) * W + c0, acc[i][v], epi, nco);
  }
}

// Runs Tile::run<R, V>(a...) for a tile of r ≤ DC_R channels and v ≤ DC_V rows or vectors: the
// one switch from run-time tile sizes to the instantiated tiles, for the row tiles here and the
// short-row tiles (conv_direct3_short.h).
template <class Tile, int R, class... A>
void dc_dispatch_v(int v, A... a) {
  static_assert(DC_V == 4, "dc_dispatch_v instantiates V = 1..4");
  switch (v) {
    case 1: Tile::template run<R, 1>(a...); break;
    case 2: Tile::template run<R, 2>(a...); break;
    case 3: Tile::template run<R, 3>(a...); break;
    case 4: Tile::template run<R, 4>(a...); break;
    default: break;
  }
}
template <class Tile, class... A>
void dc_dispatch(int r, int v, A... a) {
  switch (r) {
    case 1: dc_dispatch_v<Tile, 1>(v, a...); break;
    case 2: dc_dispatch_v<Tile, 2>(v, a...); break;
#if defined(__AVX512F__)
    case 3: dc_dispatch_v<Tile, 3>(v, a...); break;
    case 4: dc_dispatch_v<Tile, 4>(v, a...); break;
    case 5: dc_dispatch_v<Tile, 5>(v, a...); break;
    case 6: dc_dispatch_v<Tile, 6>(v, a...); break;
#endif
    default: break;
  }
}
struct DcRowTile {
  template <int R, int V, class... A>
  static void run(A... a) { dc_tile<R, V>(a...); }
};
#endif

// Whether the direct 3×3 kernel can compute a conv of these maps. The convKernels = 'gemm' setting
// turns every direct kernel off (a tuning and comparison aid: the im2col gemm handles every shape).
// The geometry every direct 3×3 kernel needs (3×3, stride 1, pad 1, a non-empty batch), on a
// build with vector kernels and with direct kernels allowed.
bool direct3_geometry(const ConvGeom& g) {
  return DW_VL > 0 && g.KH == 3 && g.KW == 3 && g.stride == 1 && g.pad == 1 && g.Ho == g.H && g.Wo == g.W && g.N > 0 &&
         !conv_gemm_only();
}

// (The divisor guards below only keep the scalar build, where DW_VL is 0 and direct3_geometry is
// false, free of a constant division by zero.)
bool direct_conv3(const ConvGeom& g) { return direct3_geometry(g) && g.W % (DW_VL > 0 ? DW_VL : 1) == 0; }

// Whether its short-row tiles (conv_direct3_short.h) can: maps narrower than a vector whose rows
// tile a vector exactly (W = 4 or 8 with AVX-512, 4 with AVX2) and whose area is whole vectors.
bool direct_conv3_short(const ConvGeom& g) {
  return direct3_geometry(g) && g.W >= 4 && g.W < DW_VL && DW_VL % g.W == 0 && (g.H * g.W) % (DW_VL > 0 ? DW_VL : 1) == 0;
}

#include "conv_direct3_short.h"

#if defined(__AVX512F__) || defined(__AVX2__)
// Output-channel blocks as even as possible (64 → 11 blocks of 5–6 rather than 10 × 6 + 4):
// block b holds channels [b·Cout/cob, (b+1)·Cout/cob).
inline int64_t dc_blocks(int64_t Cout) { return (Cout + DC_R - 1) / DC_R; }

// out = conv3(inp, w) + bias, with w(o, c, tap) the weight of output channel o, input channel c and
// tap p·3 + q, by the row tiles (W a multiple of the vector width) or the short-row tiles (W below
// it, direct_conv3_short). The prologue (if any) applies to inp as it is padded, the epilogue (if
// any) adds at the store (conv_fused.h).
template <class Weight>
bool direct_conv3_run(const float* inp, Weight w, const float* bias, float* out, int64_t N, int64_t Cin, int64_t Cout,
                      int64_t H, int64_t W, int nt, const ConvPrologue* pro = nullptr, const ConvEpilogue* epi = nullptr) {
  const bool short_rows = W % DW_VL != 0;
  const int64_t cob = dc_blocks(Cout), rb = (H + DC_V - 1) / DC_V, sb = W / DW_VL;
  const int64_t nvec = short_rows ? N * H * W / DW_VL : 0;  // short rows: the maps' vectors, in tiles of DC_V
  const int64_t tiles = short_rows ? (nvec + DC_V - 1) / DC_V * cob : N * cob * rb * sb;
  const double flops = 2.0 * N * Cout * H * W * Cin * 9;
  if (flops < 4e6 * nt) nt = 1;
  // The weights by block: block [co0, co1) at co0·Cin·9, in [ci][tap][co1 − co0] order, written
  // in that order (sequential stores, r read streams) by nt threads into a kept buffer. Why: the
  // one-thread element loop into a fresh buffer was half the wall time of the 512→256 4×4 conv
  // (16 images; perf: 16 % of the samples beside the tiles' 34 % on two threads, and the new
  // buffer's page faults 2 % more), and 2–5 % of the 16×16 and 32×32 ones.
  float* wb = tls_wblock.get(Cout * Cin * 9);
  if (!wb) return false;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && Cout * Cin >= 4096)
  for (int64_t b = 0; b < cob; b++) {
    const int64_t co0 = b * Cout / cob, r = (b + 1) * Cout / cob - co0;
    float* d = wb + co0 * Cin * 9;
    for (int64_t c = 0; c < Cin; c++)
      for (int tap = 0; tap < 9; tap++)
        for (int64_t i = 0; i < r; i++) d[(c * 9 + tap) * r + i] = w(co0 + i, c, tap);
  }
  float* xp = short_rows ? pad_maps(inp, N, Cin, H, W, 1, 0, nt, pro) : pad1(inp, N, Cin, H, W, nt, pro);
  if (!xp) return false;
  if (short_rows) {  // tiles vector-major (image-major), channel blocks inner; split as the padding
    const DcsMasks mk = dcs_masks(W);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t t = 0; t < tiles; t++) {
      const int64_t u0 = t / cob * DC_V, b = t % cob, co0 = b * Cout / cob, co1 = (b + 1) * Cout / cob;
      dc_dispatch<DcsShortTile>(static_cast<int>(co1 - co0), static_cast<int>(imin(DC_V, nvec - u0)), xp, wb, bias, out, Cin,
                                Cout, H, W, u0, co0, mk, epi);
    }
    return true;  // wb is tls_wblock's, xp tls_pad's (conv_common.h)
  }
  // Tiles: image, channel block, DC_V-row block (the last one shorter), DW_VL-wide column strip,
  // split statically (image-major, as pad1 split the planes: each thread reads what it padded).
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t n = t / (cob * rb * sb), b = (t / (rb * sb)) % cob, r0 = (t / sb) % rb * DC_V, c0 = t % sb * DW_VL;
    const int64_t co0 = b * Cout / cob, co1 = (b + 1) * Cout / cob;
    dc_dispatch<DcRowTile>(static_cast<int>(co1 - co0), static_cast<int>(imin(DC_V, H - r0)), xp, wb, bias, out, Cin, Cout, H,
                           W, n, co0, r0, c0, epi);
  }
  return true;  // wb is tls_wblock's, xp tls_pad's (conv_common.h)
}
#endif

// The forward with an optional prologue and epilogue (conv_fused.h); conv2d_forward_direct below
// is the plain one the rule table runs.
bool direct_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt,
                    const ConvPrologue* pro, const ConvEpilogue* epi) {
#if defined(__AVX512F__) || defined(__AVX2__)
  const int64_t Ci = g.Ci;
  return direct_conv3_run(x, [&](int64_t o, int64_t c, int tap) { return w[(o * Ci + c) * 9 + tap]; }, b, y, g.N, g.Ci, g.Co, g.H,
                          g.W, nt, pro, epi);
#else
  (void)x; (void)w; (void)b; (void)y; (void)g; (void)nt; (void)pro; (void)epi;
  return false;
#endif
}

bool conv2d_forward_direct(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  return direct_forward(x, w, b, y, g, nt, nullptr, nullptr);
}

bool conv2d_backward_data_direct(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
#if defined(__AVX512F__) || defined(__AVX2__)
  // gx = conv3(gy, w′): input channels co, output channels ci, w′(ci, co, tap′) = w[co][ci][8 − tap′]
  const int64_t Ci = g.Ci;
  return direct_conv3_run(gy, [&](int64_t o, int64_t c, int tap) { return w[(c * Ci + o) * 9 + 8 - tap]; }, nullptr, gx, g.N,
                          g.Co, g.Ci, g.H, g.W, nt);
#else
  (void)gy; (void)w; (void)gx; (void)g; (void)nt;
  return false;
#endif
}

// Whether the direct kernel takes this conv (else the im2col gemm does).
bool direct_wgrad(const ConvGeom& g) { return direct3_geometry(g) && g.Co % (DW_VL > 0 ? DW_VL : 1) == 0 && g.Co <= 64; }

bool conv2d_backward_weight_direct(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt) {
#if defined(__AVX512F__) || defined(__AVX2__)
  const int64_t L = g.H * g.W, Cp = g.Co;
  float* xp = pad1(x, g.N, g.Ci, g.H, g.W, g.N * g.Ci * (g.H + 2) * (g.W + 2) > 65536 ? nt : 1);
  float* gyt = aligned_floats(g.N * L * Cp);
  if (!xp || !gyt) { std::free(gyt); return false; }  // xp is tls_pad's (conv_common.h)
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t co = 0; co < g.Co; co++) {
      const float* src = gy + (n * g.Co + co) * L;
      float* d = gyt + n * L * Cp + co;
      for (int64_t l = 0; l < L; l++) d[l * Cp] = src[l];
    }
  const int NV = g.Co % (2 * DW_VL) == 0 ? 2 : 1;
  const int64_t cib = (g.Ci + DW_R - 1) / DW_R, cob = g.Co / (NV * DW_VL), tiles = 9 * cib * cob;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int tap = static_cast<int>(t % 9);
    const int64_t ci0 = (t / 9) % cib * DW_R, co0 = t / (9 * cib) * NV * DW_VL;
    const int r = static_cast<int>(imin(DW_R, g.Ci - ci0));
    if (NV == 2) dw_tile_r<2>(r, xp, gyt, gw, g, Cp, ci0, co0, tap);
    else dw_tile_r<1>(r, xp, gyt, gw, g, Cp, ci0, co0, tap);
  }
  std::free(gyt);
  return true;
#else
  (void)x; (void)gy; (void)gw; (void)g; (void)nt;
  return false;
#endif
}
