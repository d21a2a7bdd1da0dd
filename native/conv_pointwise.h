// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- direct 1×1 ("pointwise") forward: positions in vectors, weights broadcast ----------------
// y[n, co, l] = b[co] + Σ_ci w[co, ci] · x[n, ci, l], on maps whose area L = H·W is whole vectors.
// Why: the UNets' 1×1 convolutions (attention q, k, v and proj; the ResBlock shortcuts) run on
// 4×4 to 16×16 maps, where the im2col gemm spends its time packing runs of L floats per image and
// scattering its result back into NCHW: 105–186 GFLOP/s on two cores on the tiny UNet (64 images).
// Here, as in the short-row 3×3 tiles (conv_direct3_short.h), a vector holds DW_VL consecutive
// outputs of one map, a tile is R output channels × V vectors (which may belong to different
// images: at 4×4 a vector is a whole map), and per input channel V loads and R broadcasts feed
// R·V multiply-adds. The weights are broadcast straight from w (row co, column ci): no reorder,
// no padding, no packing. Each output is summed in ci order by one thread, so the result does
// not depend on the thread count.
#if defined(__AVX512F__) || defined(__AVX2__)

// Output channels co0 … co0 + R − 1 of the vectors u0 … u0 + V − 1 (vector u: image u / vpi, its
// (u % vpi)-th run of DW_VL positions). `epi` (may be null) adds at the store (conv_fused.h).
template <int R, int V>
void pw_tile(const float* x, const float* w, const float* bias, float* out, int64_t Cin, int64_t Cout, int64_t L, int64_t u0,
             int64_t co0, const ConvEpilogue* epi) {
  const int64_t vpi = L / DW_VL;
  const float* src[V];
  int64_t img[V], at[V];
  for (int v = 0; v < V; v++) {
    const int64_t u = u0 + v, n = u / vpi, k = u % vpi;
    img[v] = n;
    src[v] = x + n * Cin * L + k * DW_VL;
    at[v] = n * Cout * L + k * DW_VL;
  }
  dwv acc[R][V];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) acc[i][v] = dw_splat(bias ? bias[co0 + i] : 0.0f);
  const float* wr = w + co0 * Cin;
  for (int64_t ci = 0; ci < Cin; ci++) {
    dwv xv[V];
    for (int v = 0; v < V; v++) xv[v] = dw_load(src[v] + ci * L);
    for (int i = 0; i < R; i++) {
      const dwv a = dw_splat(wr[i * Cin + ci]);
      for (int v = 0; v < V; v++) acc[i][v] += a * xv[v];
    }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) dw_store_epilogue(out, at[v] + (co0 + i) * L, acc[i][v], epi, img[v] * Cout + co0 + i);
}

// The pointwise tiles for dc_dispatch (conv_direct3.h).
struct PwTile {
  template <int R, int V, class... A>
  static void run(A... a) { pw_tile<R, V>(a...); }
};
#endif

// Whether the pointwise tiles can compute this conv: 1×1, stride 1, no padding, map area whole vectors.
bool pointwise_geometry(const ConvGeom& g) {
  return DW_VL > 0 && is_pointwise(g) && g.N > 0 && (g.H * g.W) % (DW_VL > 0 ? DW_VL : 1) == 0 && !conv_gemm_only();
}

// The forward with an optional epilogue (conv_fused.h); conv2d_forward_pointwise is the plain one.
// Tiles: DC_V-vector blocks (image-major), channel blocks inner, so a block's input vectors stay in
// L1 across its channel blocks; split statically, as every image-parallel kernel is.
bool pointwise_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt, const ConvEpilogue* epi) {
#if defined(__AVX512F__) || defined(__AVX2__)
  const int64_t L = g.H * g.W, nvec = g.N * L / DW_VL, cob = dc_blocks(g.Co), tiles = (nvec + DC_V - 1) / DC_V * cob;
  if (2.0 * g.N * L * g.Co * g.Ci < 4e6 * nt) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t u0 = t / cob * DC_V, bl = t % cob, co0 = bl * g.Co / cob, co1 = (bl + 1) * g.Co / cob;
    dc_dispatch<PwTile>(static_cast<int>(co1 - co0), static_cast<int>(imin(DC_V, nvec - u0)), x, w, b, y, g.Ci, g.Co, L, u0, co0, epi);
  }
  return true;
#else
  (void)x; (void)w; (void)b; (void)y; (void)g; (void)nt; (void)epi;
  return false;
#endif
}

bool conv2d_forward_pointwise(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  return pointwise_forward(x, w, b, y, g, nt, nullptr);
}
