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

// The fused inference forward's epilogue terms (conv.h ConvEpilogue) added to one output value.
inline float epilogue_add(const ConvEpilogue* e, float v, int64_t nco, int64_t at) {
  if (e->channel_add) v = v + e->channel_add[nco];
  if (e->residual) v = v + e->residual[at];
  return v;
}

bool is_pointwise(const ConvGeom& g) { return g.KH == 1 && g.KW == 1 && g.stride == 1 && g.pad == 0; }

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

// inp (N×C×H×W) zero-padded into N×C×(H+2ph)×(W+2pw), through the prologue when there is one;
// null if out of memory. The result is tls_pad's memory: not freed by the caller, valid until the
// next pad_maps on this thread.
float* pad_maps(const float* inp, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, int nt,
                const ConvPrologue* pro = nullptr) {
  const int64_t Wp = W + 2 * pw, plane = (H + 2 * ph) * Wp;
  float* xp = tls_pad.get(N * C * plane);
  if (!xp) return nullptr;
  const Kernels& k = kernels();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && N * C * plane > 65536)
  for (int64_t nc = 0; nc < N * C; nc++) {
    float* d = xp + nc * plane;
    std::memset(d, 0, sizeof(float) * plane);
    if (pro) k.norm_act_rows(inp + nc * H * W, H, W, d + ph * Wp + pw, Wp, pro->scale[nc], pro->shift[nc], pro->swish);
    else for (int64_t h = 0; h < H; h++) std::memcpy(d + (h + ph) * Wp + pw, inp + (nc * H + h) * W, sizeof(float) * W);
  }
  return xp;
}
float* pad1(const float* inp, int64_t N, int64_t C, int64_t H, int64_t W, int nt, const ConvPrologue* pro = nullptr) {
  return pad_maps(inp, N, C, H, W, 1, 1, nt, pro);
}
#endif
