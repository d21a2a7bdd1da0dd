// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- backward-weight as dot products along the maps (1×1, and 3×3 into few channels) --------
// gw[co][ci][tap] = Σ_n Σ_h Σ_w gy[n, co, h, w] · xs[n, ci, h + p, w + q]
// with xs = x zero-padded by 1 for a 3×3 conv (tap = 3p + q) and xs = x for a 1×1 conv (one tap;
// an image's H·W positions are then one row). Each output is a dot product of two map-long
// streams, so a register tile of DOT_RO output × DOT_RI input channels keeps its accumulators as
// vectors along w and reads both operands straight from the maps: DOT_RO + DOT_RI vector loads per
// DOT_RO · DOT_RI multiply-adds, no transposed or packed copy. The tile's lanes are added at the
// end, in lane order.
// Why: the kernels vectorised over output channels (the direct 3×3 tile, the im2col gemm's
// packing) waste most of each vector or most of their time when the output channels are few —
// the UNet's output conv (3 channels) ran at 7–8 GFLOP/s on the gemm — and a 1×1 conv's gemm packs
// both operands for only Ci (or Co) multiply-adds per packed element.
// Summation order per output: n, h, then w by vector chunk (lane by lane), then the lanes in
// order — fixed, so the result does not depend on the thread count.
#if defined(__AVX512F__)
constexpr int DOT_RO = 4, DOT_RI = 6;  // 24 accumulators + 4 gy vectors + 1 x vector of 32
#elif defined(__AVX2__)
constexpr int DOT_RO = 2, DOT_RI = 4;  // 8 + 2 + 1 of 16
#endif
#if defined(__AVX512F__) || defined(__AVX2__)

// One tile: output channels co0..co0+RO−1, input channels ci0..ci0+RI−1, one tap. `xs` is the
// (padded) input with rows of `xrow` floats and planes of `xplane`; gy has rows of `rw` floats
// (rw = W, or L for a 1×1 conv with rows = 1), `rows` rows per map.
// Over images n0..n1−1: the accumulators start from zero on the first chunk (n0 = 0), else from
// `vs` (this tile's vectors, left there by the chunk before); they go back to `vs` unless this is
// the last chunk (n1 = N), which adds their lanes into gw.
template <int RO, int RI>
void dot_tile(const float* xs, const float* gy, float* gw, dwv* vs, int64_t n0, int64_t n1, int64_t N, int64_t Ci, int64_t Co,
              int64_t rows, int64_t rw, int64_t xrow, int64_t xplane, int64_t taps, int64_t co0, int64_t ci0, int tap, int64_t shift) {
  dwv acc[RO][RI];
  for (int o = 0; o < RO; o++)
    for (int i = 0; i < RI; i++) acc[o][i] = n0 == 0 ? dwv{} : vs[o * RI + i];
  const int64_t gplane = rows * rw;
  for (int64_t n = n0; n < n1; n++) {
    const float* gn = gy + (n * Co + co0) * gplane;
    const float* xn = xs + (n * Ci + ci0) * xplane + shift;
    for (int64_t h = 0; h < rows; h++) {
      const float* gr = gn + h * rw;
      const float* xr = xn + h * xrow;
      for (int64_t w = 0; w < rw; w += DW_VL) {
        dwv g[RO];
        for (int o = 0; o < RO; o++) g[o] = dw_load(gr + o * gplane + w);
        for (int i = 0; i < RI; i++) {
          const dwv v = dw_load(xr + i * xplane + w);
          for (int o = 0; o < RO; o++) acc[o][i] += g[o] * v;
        }
      }
    }
  }
  if (n1 < N) {
    for (int o = 0; o < RO; o++)
      for (int i = 0; i < RI; i++) vs[o * RI + i] = acc[o][i];
    return;
  }
  for (int o = 0; o < RO; o++)
    for (int i = 0; i < RI; i++) {
      float lanes[DW_VL];
      std::memcpy(lanes, &acc[o][i], sizeof lanes);
      float s = 0.0f;
      for (int l = 0; l < DW_VL; l++) s += lanes[l];
      gw[((co0 + o) * Ci + ci0 + i) * taps + tap] = s;
    }
}

// The tile for the edge blocks' sizes (ro ≤ DOT_RO, ri ≤ DOT_RI).
template <int RO>
void dot_tile_ri(int ri, const float* xs, const float* gy, float* gw, dwv* vs, int64_t n0, int64_t n1, int64_t N, int64_t Ci,
                 int64_t Co, int64_t rows, int64_t rw, int64_t xrow, int64_t xplane, int64_t taps, int64_t co0, int64_t ci0, int tap,
                 int64_t shift) {
  switch (ri) {
#define DOT_CASE(k) case k: dot_tile<RO, k>(xs, gy, gw, vs, n0, n1, N, Ci, Co, rows, rw, xrow, xplane, taps, co0, ci0, tap, shift); break;
    DOT_CASE(1) DOT_CASE(2) DOT_CASE(3) DOT_CASE(4)
#if defined(__AVX512F__)
    DOT_CASE(5) DOT_CASE(6)
#endif
#undef DOT_CASE
    default: break;
  }
}
#endif

// The images in chunks whose maps (x and gy, `floats_per_image` an image) fit in about half of a
// core's L2 (1 MB on Zen 4 and 5); every tile runs over one chunk before the next. Over the whole
// batch at once each tile streamed its rows from L3: 128→3 at 32×32 (32 images) 26 → 39 GFLOP/s
// chunked, 64→32 1×1 16×16 78 → 90 (one thread on a loaded machine, 2026-12-07, Zen 5). The chunk
// depends on the shapes only, so the sums' order does not depend on the thread count.
inline int64_t wgrad_chunk_images(int64_t floats_per_image) {
  constexpr int64_t kChunkFloats = 128 * 1024;  // 512 KB
  return imax(1, kChunkFloats / imax(1, floats_per_image));
}

// Whether the dot kernel takes this backward-weight (quiet machine, 2026-12-07, Zen 5; GFLOP per
// CPU-second, 1 thread, 32 images / 2 threads, 64 images, vs the im2col gemm):
// - a 3×3 stride-1 pad-1 conv into fewer output channels than a vector (which the direct 3×3 tile,
//   vectorised over output channels, declines) with rows of whole vectors: the UNet's output conv,
//   32→3 16×16 7–8 → 36–45, 128→3 32×32 7–8 → 39–47 (1 thread); in `cbdm bench conv` (128→3
//   32×32, 8 images, 2 threads) forward + backward 32–43 → 85–99 GFLOP/s;
// - a 1×1 conv on maps of ≥ 16×16 with Ci + Co ≤ 128: 64→32 73 → 106, 96→32 77–80 → 98–99, 32→64
//   70–74 → 89–90, 64→64 96 → 100 (1 thread); 1.0–1.2× at 2 threads. On 8×8 maps the gemm is
//   level or ahead (64→64: 87–88 vs 83–84), and with more channels its packing pays off (128→128
//   16×16: 130 vs 75).
bool dot_wgrad_ok(const ConvGeom& g) {
  if (DW_VL == 0 || g.N == 0 || conv_gemm_only()) return false;
  const int64_t L = g.H * g.W;
  if (is_pointwise(g)) return L % (DW_VL > 0 ? DW_VL : 1) == 0 && L >= 256 && g.Ci + g.Co <= 128;
  return direct_conv3(g) && g.Co < DW_VL;
}

bool conv2d_backward_weight_dot(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt) {
#if defined(__AVX512F__) || defined(__AVX2__)
  const bool pw = is_pointwise(g);
  const float* xs = x;
  int64_t rows = 1, rw = g.H * g.W, xrow = 0, xplane = g.H * g.W;
  if (!pw) {
    xs = pad1(x, g.N, g.Ci, g.H, g.W, g.N * g.Ci * (g.H + 2) * (g.W + 2) > 65536 ? nt : 1);
    if (!xs) return false;  // tls_pad's memory (conv_common.h): not freed here
    rows = g.H, rw = g.W, xrow = g.W + 2, xplane = (g.H + 2) * (g.W + 2);
  }
  const int64_t taps = pw ? 1 : 9;
  const int64_t cob = (g.Co + DOT_RO - 1) / DOT_RO, cib = (g.Ci + DOT_RI - 1) / DOT_RI, tiles = taps * cob * cib;
  const int64_t nb = wgrad_chunk_images(g.Ci * xplane + g.Co * g.H * g.W);
  // Between chunks each tile's accumulators wait in a kept buffer (DOT_RO·DOT_RI vectors a tile):
  // adding their lanes after every chunk cost as much as the chunk's multiply-adds on small maps.
  dwv* vs = nullptr;
  if (nb < g.N) {
    vs = reinterpret_cast<dwv*>(tls_parts.get(static_cast<size_t>(tiles * DOT_RO * DOT_RI * DW_VL)));
    if (!vs) return false;
  }
  for (int64_t n0 = 0; n0 < g.N; n0 += nb) {
    const int64_t n1 = imin(g.N, n0 + nb);
  // Tiles by output-channel block, then tap, then input-channel block: consecutive tiles share
  // their gy rows, which stay in cache while the x rows stream.
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && tiles > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t co0 = t / (taps * cib) * DOT_RO, ci0 = t % cib * DOT_RI;
    const int tap = static_cast<int>(t / cib % taps);
    const int64_t shift = pw ? 0 : tap / 3 * xrow + tap % 3;
    const int ro = static_cast<int>(imin(DOT_RO, g.Co - co0)), ri = static_cast<int>(imin(DOT_RI, g.Ci - ci0));
    dwv* tvs = vs ? vs + t * DOT_RO * DOT_RI : nullptr;
    switch (ro) {
#define DOT_RO_CASE(k)                                                                                         \
  case k: dot_tile_ri<k>(ri, xs, gy, gw, tvs, n0, n1, g.N, g.Ci, g.Co, rows, rw, xrow, xplane, taps, co0, ci0, tap, shift); break;
      DOT_RO_CASE(1) DOT_RO_CASE(2)
#if defined(__AVX512F__)
      DOT_RO_CASE(3) DOT_RO_CASE(4)
#endif
#undef DOT_RO_CASE
      default: break;
    }
  }
  }
  return true;
#else
  (void)x; (void)gy; (void)gw; (void)g; (void)nt;
  return false;
#endif
}
