// A fragment of the convolution kernels' translation unit: included only by conv_direct3.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- direct 3×3 stride-1 pad-1 tiles for maps narrower than a vector ("short rows") -----------
// out[n, co, h, w] = b[co] + Σ_ci Σ_{p,q} w[co][ci][p][q] · inp[n, ci, h+p−1, w+q−1] (zero outside).
// Why: the row tiles of conv_direct3.h need W a multiple of the vector width, and the UNets' 8×8
// and 4×4 levels went to the channel-vector kernel or the im2col gemm at 75–250 GFLOP/s on two
// cores. Here a vector holds DW_VL / W whole rows of one map (an NCHW plane is contiguous), so an
// 8×8 map is 4 vectors and a 4×4 map 1. The input planes are padded with one zero row above and
// below and none at the sides: tap (p, q) of the vector whose first row is r0 is the vector at
// padded offset (r0 + p)·W + q − 1, with the lanes whose column w + q − 1 leaves its row (w = 0 for
// q = 0, w = W − 1 for q = 2) zeroed by an AND with a lane mask (dcs_load).
// A tile is R output channels × V consecutive vectors, which may belong to different images (at
// 4×4, four images): per (ci, tap) V loads and R weight broadcasts feed R·V multiply-adds, summed
// per output in the order ci, q, p as the row tiles do.
#if defined(__AVX512F__) || defined(__AVX2__)

// Lane masks of the two shifted taps: `left` (q = 0) zeroes the lanes at column 0, `right` (q = 2)
// the lanes at column W − 1. Applied as a bitwise AND after a plain load, not as a masked load:
// with the masked-load builtin GCC kept the accumulators in memory, storing all R·V of them on
// every input channel (48 stores per 216 multiply-adds at R = 6); with the AND they stay in
// registers. The plain load reads one float before the first padded plane (tap q = 0 of the first
// vector) and one after the last (q = 2): pad_maps leaves DW_VL guard floats on both sides.
typedef int32_t dwi __attribute__((vector_size(DW_VL * 4)));
struct DcsMasks {
  dwi left, right;
};
inline DcsMasks dcs_masks(int64_t W) {
  DcsMasks m;
  for (int j = 0; j < DW_VL; j++) {
    m.left[j] = j % W != 0 ? -1 : 0;
    m.right[j] = j % W != W - 1 ? -1 : 0;
  }
  return m;
}
inline dwv dcs_load(const float* p, dwi m) { return (dwv)((dwi)dw_load(p) & m); }

// Output channels co0 … co0 + R − 1 of the vectors u0 … u0 + V − 1 (vector u: image u / vpi, its
// (u % vpi)-th run of DW_VL outputs); xp holds the row-padded planes ((H + 2)·W floats each) and
// wb the blocked weights of conv_direct3.h ([ci][tap][R] from co0·Cin·9).
template <int R, int V>
void dcs_tile(const float* xp, const float* wb, const float* bias, float* out, int64_t Cin, int64_t Cout, int64_t H, int64_t W,
              int64_t u0, int64_t co0, const DcsMasks& mk, const ConvEpilogue* epi) {
  const int64_t plane = (H + 2) * W, L = H * W, vpi = L / DW_VL;
  const float* src[V];  // tap (0, 0) of vector v: padded offset r0·W − 1 in its image's planes
  int64_t img[V], at[V];
  for (int v = 0; v < V; v++) {
    const int64_t u = u0 + v, n = u / vpi, k = u % vpi;
    img[v] = n;
    src[v] = xp + n * Cin * plane + k * DW_VL - 1;
    at[v] = n * Cout * L + k * DW_VL;
  }
  const auto left = mk.left, right = mk.right;
  dwv acc[R][V];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) acc[i][v] = dw_splat(bias ? bias[co0 + i] : 0.0f);
  for (int64_t ci = 0; ci < Cin; ci++) {
    const float* wk = wb + (co0 * Cin + ci * R) * 9;
    const int64_t c = ci * plane;
    // Unrolled (GCC otherwise keeps the tap loops and spills the accumulators every tap).
#pragma GCC unroll 3
    for (int q = 0; q < 3; q++)
#pragma GCC unroll 3
      for (int p = 0; p < 3; p++) {
        dwv x[V];
        for (int v = 0; v < V; v++) {
          const float* s = src[v] + c + p * W + q;
          x[v] = q == 1 ? dw_load(s) : dcs_load(s, q == 0 ? left : right);
        }
        const float* wt = wk + (p * 3 + q) * R;
        for (int i = 0; i < R; i++) {
          const dwv a = dw_splat(wt[i]);
          for (int v = 0; v < V; v++) acc[i][v] += a * x[v];
        }
      }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) dw_store_epilogue(out, at[v] + (co0 + i) * L, acc[i][v], epi, img[v] * Cout + co0 + i);
}

// The short-row tiles for dc_dispatch (conv_direct3.h).
struct DcsShortTile {
  template <int R, int V, class... A>
  static void run(A... a) { dcs_tile<R, V>(a...); }
};
#endif
