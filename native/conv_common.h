// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// What every convolution kernel family uses: integer min/max, the per-thread scratch, the vector
// width of the direct kernels, and zero-padded copies of the input maps.
inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

thread_local Buf tls_col;
thread_local Buf tls_parts;  // backward-weight partial sums (used by the calling thread only)
// The padded input maps of the calling thread's current convolution (pad_maps). Kept between
// calls: a fresh buffer above glibc's 32 MiB mmap ceiling (the cifar UNet's 128 channels at 32×32
// from 64 images: 38 MB) is new zero pages on every call, faulted in while it is filled — the
// direct kernel measured 0.46–0.64× the gemm there before, 1.51–1.52× after (forward, 2 threads).
thread_local Buf tls_pad;
// The direct kernel's blocked weights (conv_direct3.h), kept between calls for the same reason:
// the 512→256 3×3 weights are 4.7 MB of fresh pages per call otherwise.
thread_local Buf tls_wblock;

// The fused inference forward's epilogue terms (conv.h ConvEpilogue) added to one output value.
inline float epilogue_add(const ConvEpilogue* e, float v, int64_t nco, int64_t at) {
  if (e->channel_add) v = v + e->channel_add[nco];
  if (e->residual) v = v + e->residual[at];
  return v;
}

bool is_pointwise(const ConvGeom& g) { return g.KH == 1 && g.KW == 1 && g.stride == 1 && g.pad == 0; }

// dst (cols × rows) = srcᵀ, src rows × cols: in 16×16 blocks (each block's reads and writes stay
// in L1) split by column block over nt threads. The channel-vector kernel reorders its weights this
// way on every call; the plain element loop with strided stores, on one thread, was 6 % of the
// samples of a fused 64→64 4×4 conv (64 images) and left the second core waiting.
inline void transpose_blocks(const float* src, int64_t rows, int64_t cols, float* dst, int nt) {
  constexpr int64_t TB = 16;
  const int64_t cb = (cols + TB - 1) / TB;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && rows * cols >= 16384)
  for (int64_t j = 0; j < cb; j++) {
    const int64_t c0 = j * TB, c1 = imin(cols, c0 + TB);
    for (int64_t r0 = 0; r0 < rows; r0 += TB) {
      const int64_t r1 = imin(rows, r0 + TB);
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) dst[c * rows + r] = src[r * cols + c];
    }
  }
}

// The direct and channel-vector kernels' vector width (floats) and register-tile rows per ISA.
#if defined(__AVX512F__)
constexpr int DW_VL = 16, DW_R = 14;
#elif defined(__AVX2__)
constexpr int DW_VL = 8, DW_R = 6;
#else
constexpr int DW_VL = 0, DW_R = 0;
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
typedef float dwv __attribute__((vector_size(DW_VL * 4)));

inline dwv dw_load(const float* p) { dwv v; std::memcpy(&v, p, sizeof v); return v; }
// DW_VL copies of s. Not `dwv{} + s`: 0 + s is not s when s is −0, so the compiler must add
// before it broadcasts (a vaddss in every inner loop, ahead of each broadcast); s − 0 is s for
// every s, so this folds to a bare broadcast, which the FMA can take from memory.
inline dwv dw_splat(float s) { return s - dwv{}; }

// The pw zeros either side of a padded row r. pw = 1 (every 3×3 conv) as two stores: as a loop,
// GCC makes it two memset calls per row.
inline void zero_side_pads(float* r, int64_t W, int64_t pw) {
  if (pw == 1) { r[0] = 0.0f; r[W + 1] = 0.0f; return; }
  for (int64_t i = 0; i < pw; i++) r[i] = r[pw + W + i] = 0.0f;
}

// The zero border of a padded plane d (H + 2ph rows of Wp = W + 2pw): ph rows above and below, pw
// floats either side of each of the H rows between.
inline void zero_plane_borders(float* d, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t Wp) {
  std::memset(d, 0, sizeof(float) * ph * Wp);
  std::memset(d + (ph + H) * Wp, 0, sizeof(float) * ph * Wp);
  for (int64_t h = 0; h < H; h++) zero_side_pads(d + (ph + h) * Wp, W, pw);
}

// Store the output vector a at out + at, with the fused epilogue's adds (conv.h ConvEpilogue) when
// there is one: channel_add[nco] (nco = n·Cout + co), then the residual at the same place — the
// same float adds, in the same order, as the separate broadcast and elementwise kernels.
inline void dw_store_epilogue(float* out, int64_t at, dwv a, const ConvEpilogue* epi, int64_t nco) {
  if (epi) {
    if (epi->channel_add) a = a + epi->channel_add[nco];
    if (epi->residual) a = a + dw_load(epi->residual + at);
  }
  std::memcpy(out + at, &a, sizeof(dwv));
}

// One plane s (H×W) zero-padded into d (H+2ph rows of Wp = W+2pw): the borders zeroed, the rows
// copied in vectors. Not a memset of the plane and a memcpy per row: the library call per short
// row (64 bytes at 16×16) took ~10 % of a profile's samples of the direct kernel at 32→32 16×16.
inline void pad_plane(const float* s, float* d, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t Wp) {
  zero_plane_borders(d, H, W, ph, pw, Wp);
  for (int64_t h = 0; h < H; h++) {
    float* r = d + (ph + h) * Wp;
    const float* sr = s + h * W;
    int64_t w = 0;
    for (; w + DW_VL <= W; w += DW_VL) {
      const dwv v = dw_load(sr + w);
      std::memcpy(r + pw + w, &v, sizeof v);
    }
    for (; w < W; w++) r[pw + w] = sr[w];
  }
}

// pad_plane through the prologue: x·scale + shift, then swish when asked, as the separate group
// norm computes it (Kernels::norm_act_rows), for maps at least a vector wide.
inline void pad_plane_norm(const float* s, float* d, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t Wp,
                           float sc, float sh, bool swish) {
  zero_plane_borders(d, H, W, ph, pw, Wp);
  kernels().norm_act_rows(s, H, W, d + ph * Wp + pw, Wp, sc, sh, swish);
}

// Normalised maps narrower than a vector: the C maps of an image normalised as one run, by one
// call (Kernels::norm_act_maps), into `run`, then placed row by row. Per map (a call and a loop
// entry for 16 floats at 4×4) the prologue was 15 % of a fused 64→64 4×4 conv's samples.
thread_local Buf tls_run;
inline bool pad_image_norm(const float* s, float* d, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t Wp,
                           int64_t plane, const float* scale, const float* shift, bool swish) {
  float* run = tls_run.get(static_cast<size_t>(C * H * W));
  if (!run) return false;
  kernels().norm_act_maps(s, C, H * W, run, scale, shift, swish);
  for (int64_t c = 0; c < C; c++) pad_plane(run + c * H * W, d + c * plane, H, W, ph, pw, Wp);
  return true;
}

// inp (N×C×H×W) zero-padded into N×C×(H+2ph)×(W+2pw), through the prologue when there is one;
// null if out of memory. The result is tls_pad's memory: not freed by the caller, valid until the
// next pad_maps on this thread, with DW_VL guard floats before and after it (the short-row tiles'
// side taps read one float beyond either end and mask it off). The planes are split between the nt
// threads statically, image-major, as the forward kernels split their tiles: each thread then reads
// (all but at the boundary of its run) the planes it padded itself, from its own cache. The caller
// decides nt for both, so a small conv pads on one thread.
float* pad_maps(const float* inp, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, int nt,
                const ConvPrologue* pro = nullptr) {
  const int64_t Wp = W + 2 * pw, plane = (H + 2 * ph) * Wp;
  float* xp = tls_pad.get(N * C * plane + 2 * DW_VL);  // DW_VL guard floats before and after
  if (!xp) return nullptr;
  xp += DW_VL;
  if (pro && W < DW_VL) {  // by image, split as the planes below are (image-major, static)
    bool ok = true;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1) reduction(&& : ok)
    for (int64_t n = 0; n < N; n++)
      ok = pad_image_norm(inp + n * C * H * W, xp + n * C * plane, C, H, W, ph, pw, Wp, plane, pro->scale + n * C,
                          pro->shift + n * C, pro->swish) && ok;
    return ok ? xp : nullptr;
  }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t nc = 0; nc < N * C; nc++) {
    if (pro) pad_plane_norm(inp + nc * H * W, xp + nc * plane, H, W, ph, pw, Wp, pro->scale[nc], pro->shift[nc], pro->swish);
    else pad_plane(inp + nc * H * W, xp + nc * plane, H, W, ph, pw, Wp);
  }
  return xp;
}
float* pad1(const float* inp, int64_t N, int64_t C, int64_t H, int64_t W, int nt, const ConvPrologue* pro = nullptr) {
  return pad_maps(inp, N, C, H, W, 1, 1, nt, pro);
}
#endif
