// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// The channel-vector kernel's driver (fp32 tiles of conv_channel_vector.h, bf16 tiles of
// conv_bf16.h) and the forward / backward-data passes through it.
// The longest run of taps k one fp32 pass of the cv kernel sums (see cv_run).
constexpr int64_t CV_K_BLOCK = 2048;

// Whether the cv kernel can produce Cout output channels (whole vectors of them).
bool cv_ok(int64_t Cout) {
  return DW_VL > 0 && Cout % (DW_VL > 0 ? DW_VL : 1) == 0 && !conv_gemm_only();
}

// Forward: where the gemm's im2col packing is costly — short output rows (Wo < 32: runs of < 32
// floats) or few output channels (≤ 64 uses of each packed element) — and k = Ci·KH·KW ≥ 64:
// below 64 the padded copy and the scattered stores outweigh the few multiply-adds
// (the UNet's 3-channel input conv: 0.4× the gemm); the gemm's cache blocking wins on wide maps
// with ≥ 128 channels (128→128 at 32×32: 0.9×). Measured 1.1–2.2× the gemm on the maps it takes
// (bench/RESULTS.md). k > 2048 (a 64-channel block of weights outgrows half of L2) runs in k
// blocks of ≤ 2048 (cv_run), and only with ≤ 128 output channels on maps of ≥ 8×8: there it
// measured 1.15–1.33× the gemm (medians; 256→128 at 8×8 and 16×16, 384→128 at 16×16, 1 thread,
// CPU clock), with 256 output channels 0.88–0.93× (256→256, 512→256) and 0.63–0.68× at 4×4.
bool cv_forward_ok(const ConvGeom& g) {
  const int64_t K = g.Ci * g.KH * g.KW;
  if (cv_bf16()) return cv_ok(g.Co) && !is_pointwise(g) && K >= 64 && K <= 4096;  // half the weight bytes
  const bool k_ok = K <= CV_K_BLOCK || (g.Co <= 128 && g.Ho * g.Wo >= 64);
  // Stride 2 onto maps of ≤ 16×16, at any k and channel count: the UNet's downsampling convs. At
  // 2 threads, 16 images, vs the im2col gemm (whose packing was a third of the samples there):
  // AVX-512 256→256 16×16 → 8×8 1.1–1.4×, 8×8 → 4×4 1.8–2.2×, 512→512 8×8 → 4×4 1.3×; AVX2
  // (forced) 1.0–1.1× and 1.25× on the 256-channel ones. (2026-12-07, Zen 5)
  if (g.stride == 2 && g.Ho * g.Wo <= 256 && cv_ok(g.Co) && K >= 64) return true;
  return cv_ok(g.Co) && !is_pointwise(g) && (g.Wo < 32 || g.Co <= 64) && K >= 64 && k_ok;
}

// out (N×Cout×Ho×Wo) = conv(inp (N×Cin×H×W) padded by (ph, pw), wk) + bias, wk in [k][cout] order
// with k = (ci·KH + p)·KW + q.
// fp32 sums run in blocks of at most kblock taps (k blocks one after another, each tile adding its
// block to the stored sums), so the weight rows one block streams stay near L2's size.
// The prologue (fp32 only) applies to inp as it is padded, the epilogue adds at the last block's
// store (conv_fused.h); null for neither.
bool cv_run(const float* inp, const float* wk, const float* bias, float* out, int64_t N, int64_t Cin, int64_t H,
                   int64_t W, int64_t KH, int64_t KW, int64_t ph, int64_t pw, int64_t s, int64_t Cout, int64_t Ho,
                   int64_t Wo, int64_t kblock, int nt, const ConvPrologue* pro = nullptr, const ConvEpilogue* epi = nullptr) {
#if defined(__AVX512F__) || defined(__AVX2__)
  // bf16: stored channel planes are channel pairs (an odd last channel pairs with zeros)
  const bool bf = cv_bf16();
  if (bf && (pro || epi)) return false;  // the bf16 tiles have no fused form (conv_fused.h never asks)
  const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw, plane = Hp * Wp, Cs = bf ? (Cin + 1) / 2 : Cin, K = Cs * KH * KW;
  const double flops = 2.0 * N * Ho * Wo * Cout * K;
  if (flops < 4e6 * nt) nt = 1;  // decided before the padding, which splits its planes as the tiles do
  float* xp = bf ? tls_pad.get(N * Cs * plane) : pad_maps(inp, N, Cin, H, W, ph, pw, nt, pro);  // tls_pad: not freed here
  int32_t* kofs = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * K));
  uint32_t* wk2 = bf ? static_cast<uint32_t*>(std::aligned_alloc(64, ((K * Cout * 4 + 63) / 64) * 64)) : nullptr;
  if (!xp || !kofs || (bf && !wk2) || N * Cs * plane >= (int64_t(1) << 31)) {
    std::free(kofs); std::free(wk2);
    return false;
  }
  if (bf) {  // padded maps of channel pairs 2c, 2c + 1 as bf16 pairs
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t nc = 0; nc < N * Cs; nc++) {
      uint32_t* d = reinterpret_cast<uint32_t*>(xp) + nc * plane;
      std::memset(d, 0, sizeof(uint32_t) * plane);
      const int64_t n = nc / Cs, c0 = 2 * (nc % Cs);
      const float* lo = inp + (n * Cin + c0) * H * W;
      const float* hi = c0 + 1 < Cin ? lo + H * W : nullptr;
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) d[(h + ph) * Wp + pw + w] = bf16_pair(lo[h * W + w], hi ? hi[h * W + w] : 0.0f);
    }
  }
  for (int64_t c = 0; c < Cs; c++)
    for (int64_t p = 0; p < KH; p++)
      for (int64_t q = 0; q < KW; q++) kofs[(c * KH + p) * KW + q] = int32_t(c * plane + p * Wp + q);
  if (bf) {  // wk[(ci·KH + p)·KW + q][co] → pairs of channels 2c, 2c + 1
    const int64_t T = KH * KW;
    for (int64_t c = 0; c < Cs; c++)
      for (int64_t t = 0; t < T; t++) {
        const float* lo = wk + ((2 * c) * T + t) * Cout;
        const float* hi = 2 * c + 1 < Cin ? wk + ((2 * c + 1) * T + t) * Cout : nullptr;
        uint32_t* d = wk2 + (c * T + t) * Cout;
        for (int64_t co = 0; co < Cout; co++) d[co] = bf16_pair(lo[co], hi ? hi[co] : 0.0f);
      }
  }
  const int NV = int(imin(CV_NVMAX, Cout / DW_VL));
  const int64_t nvb = Cout / DW_VL, cob = (nvb + NV - 1) / NV, Lo = Ho * Wo, P = N * Lo;
  const int R = cv_rows(NV);
  const int64_t pt = (P + R - 1) / R, tiles = pt * cob;
  const int64_t kblocks = bf || kblock <= 0 ? 1 : (K + kblock - 1) / kblock, kb = (K + kblocks - 1) / kblocks;
  for (int64_t j = 0; j < kblocks; j++) {
  const int64_t k0 = j * kb, k1 = imin(K, k0 + kb);
  // Tiles position-major, split statically: each thread takes a run of whole images (as
  // pad_maps split the planes), so it reads the maps it padded.
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t p0 = (t / cob) * R, np = imin(R, P - p0), b = t % cob;
    // vector blocks of NV, the last one narrower when nvb is not a multiple (e.g. 5 = 4 + 1)
    const int64_t v0 = b * NV, nv = imin(NV, nvb - v0), co0 = v0 * DW_VL;
    switch (nv) {
#if defined(__AVX512F__)
#define CV_CASE(k) case k: \
      if (bf) cv_tile_bf16<k>(reinterpret_cast<const uint32_t*>(xp), kofs, K, wk2, bias, out, Cout, Lo, Wo, Cs * plane, Wp, s, p0, np, co0); \
      else cv_tile<k>(xp, kofs, k0, k1, wk, bias, j > 0, out, Cout, Lo, Wo, Cs * plane, Wp, s, p0, np, co0, j + 1 == kblocks ? epi : nullptr); \
      break;
#else
#define CV_CASE(k) case k: cv_tile<k>(xp, kofs, k0, k1, wk, bias, j > 0, out, Cout, Lo, Wo, Cs * plane, Wp, s, p0, np, co0, j + 1 == kblocks ? epi : nullptr); break;
#endif
      CV_CASE(1) CV_CASE(2)
#if defined(__AVX512F__)
      CV_CASE(3) CV_CASE(4)
#endif
#undef CV_CASE
      default: break;
    }
  }
  }
  std::free(kofs);
  std::free(wk2);
  return true;
#else
  (void)inp; (void)wk; (void)bias; (void)out; (void)N; (void)Cin; (void)H; (void)W; (void)KH; (void)KW; (void)ph;
  (void)pw; (void)s; (void)Cout; (void)Ho; (void)Wo; (void)kblock; (void)nt; (void)pro; (void)epi;
  return false;
#endif
}

// The forward with an optional prologue and epilogue (conv_fused.h); conv2d_forward_cv below is the
// plain one the rule table runs.
bool cv_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt,
                const ConvPrologue* pro, const ConvEpilogue* epi) {
  const int64_t T = g.KH * g.KW, K = g.Ci * T;
  float* wk = tls_wblock.get(K * g.Co);  // kept between calls (conv_common.h), not freed here
  if (!wk) return false;
  transpose_blocks(w, g.Co, K, wk, 2.0 * g.N * g.Ho * g.Wo * g.Co * K < 4e6 * nt ? 1 : nt);  // w[co][k] → wk[k][co]
  return cv_run(x, wk, b, y, g.N, g.Ci, g.H, g.W, g.KH, g.KW, g.pad, g.pad, g.stride, g.Co, g.Ho, g.Wo, CV_K_BLOCK, nt, pro, epi);
}

bool conv2d_forward_cv(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  return cv_forward(x, w, b, y, g, nt, nullptr, nullptr);
}

// Stride 1: gx = conv(gy padded by (KH−1−pad, KW−1−pad), w′), w′[co][KH−1−p][KW−1−q] → ci — the
// adjoint of the forward, with Co input and Ci output channels. Taken on maps ≤ 8×8, and on 16×16
// maps at ≤ 64 channels, where it measured 1.15–1.3× the gemm + col2im; elsewhere about equal.
bool cv_backward_data_ok(const ConvGeom& g) {
  if (g.stride != 1 || g.pad > g.KH - 1 || g.pad > g.KW - 1 || !cv_ok(g.Ci)) return false;
  return !is_pointwise(g) && (cv_bf16() || g.H * g.W <= (g.Ci <= 64 ? 256 : 64));
}

bool conv2d_backward_data_cv(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  const int64_t T = g.KH * g.KW, K = g.Co * T;
  float* wk = tls_wblock.get(K * g.Ci);  // kept between calls (conv_common.h), not freed here
  if (!wk) return false;
  for (int64_t co = 0; co < g.Co; co++)
    for (int64_t ci = 0; ci < g.Ci; ci++)
      for (int64_t p = 0; p < g.KH; p++)
        for (int64_t q = 0; q < g.KW; q++)
          wk[((co * g.KH + (g.KH - 1 - p)) * g.KW + (g.KW - 1 - q)) * g.Ci + ci] = w[((co * g.Ci + ci) * g.KH + p) * g.KW + q];
  return cv_run(gy, wk, nullptr, gx, g.N, g.Co, g.Ho, g.Wo, g.KH, g.KW, g.KH - 1 - g.pad, g.KW - 1 - g.pad, 1, g.Ci, g.H,
                g.W, 0, nt);  // backward-data: one k block, as measured
}
