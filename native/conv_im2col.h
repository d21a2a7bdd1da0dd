// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// The implicit im2col: gemm operand sources that read im2col(x) straight from x, col2im, and
// the batching of small images into one gemm (see conv_kernels.h for the scheme).
// Valid output columns j for tap q: j·s − pad + q ∈ [0, W).
inline void valid_range(int64_t q, int64_t s, int64_t pad, int64_t W, int64_t Wo, int64_t& j0, int64_t& j1) {
  j0 = 0;
  while (j0 < Wo && j0 * s - pad + q < 0) j0++;
  j1 = Wo;
  while (j1 > j0 && (j1 - 1) * s - pad + q >= W) j1--;
}

// gx += col2im(col), col with row stride ldcol; gx zeroed by the caller.
void col2im(const float* col, int64_t ldcol, float* gx, const ConvGeom& g) {
  const int64_t s = g.stride;
  for (int64_t ci = 0; ci < g.Ci; ci++) {
    float* xc = gx + ci * g.H * g.W;
    for (int64_t p = 0; p < g.KH; p++)
      for (int64_t q = 0; q < g.KW; q++) {
        const float* row = col + ((ci * g.KH + p) * g.KW + q) * ldcol;
        int64_t j0, j1;
        valid_range(q, s, g.pad, g.W, g.Wo, j0, j1);
        for (int64_t i = 0; i < g.Ho; i++) {
          const int64_t hi = i * s - g.pad + p;
          if (hi < 0 || hi >= g.H) continue;
          const float* r = row + i * g.Wo;
          float* xr = xc + hi * g.W - g.pad + q;
          if (s == 1) for (int64_t j = j0; j < j1; j++) xr[j] += r[j];
          else for (int64_t j = j0; j < j1; j++) xr[j * s] += r[j];
        }
      }
  }
}

// One row r = (ci, p, q) of the im2col matrix of one image, columns [l0, l0 + len), written to
// dst[t·stride]. Output positions l = i·Wo + j are walked in runs of one output row; each run is
// zeros / a (strided) copy of an input row / zeros, by the tap's valid column range.
template <bool Contiguous>
void col_row(const float* x, const ConvGeom& g, int64_t r, int64_t l0, int64_t len, float* dst, int64_t stride) {
  const int64_t q = r % g.KW, p = (r / g.KW) % g.KH, ci = r / (g.KW * g.KH), s = g.stride;
  const float* xc = x + ci * g.H * g.W;
  const int64_t ja = g.pad > q ? (g.pad - q + s - 1) / s : 0;                       // first j reading column ≥ 0
  const int64_t lastnum = g.W - 1 + g.pad - q;
  const int64_t jb = lastnum < 0 ? 0 : imin(g.Wo, lastnum / s + 1);             // one past the last j reading < W
  int64_t i = l0 / g.Wo, j = l0 % g.Wo, t = 0;
  auto put = [&](int64_t at, float v) { if (Contiguous) dst[at] = v; else dst[at * stride] = v; };
  while (t < len) {
    const int64_t seg = imin(len - t, g.Wo - j);
    const int64_t hi = i * s - g.pad + p;
    if (hi < 0 || hi >= g.H) {
      for (int64_t u = 0; u < seg; u++) put(t + u, 0.0f);
    } else {
      const float* xr = xc + hi * g.W - g.pad + q;
      // zeros on [j, a), x on [a, b), zeros on [b, j + seg); a and b clamped into the run
      const int64_t a = imin(j + seg, imax(j, ja)), b = imax(a, imin(j + seg, jb));
      int64_t u = j;
      for (; u < a; u++) put(t + u - j, 0.0f);
      if (s == 1) for (; u < b; u++) put(t + u - j, xr[u]);
      else for (; u < b; u++) put(t + u - j, xr[u * s]);
      for (; u < j + seg; u++) put(t + u - j, 0.0f);
    }
    t += seg;
    i++;
    j = 0;
  }
}

// Batches of images: column c of a batch starting at image n0 is (image n0 + c / L, position
// c % L). f(n, l, t, len) visits the runs of [c0, c0 + len) that stay inside one image (n relative
// to n0, t the run's offset from c0).
template <class F>
inline void image_runs(int64_t c0, int64_t len, int64_t L, F f) {
  for (int64_t t = 0; t < len;) {
    const int64_t c = c0 + t, n = c / L, l = c % L, seg = imin(len - t, L - l);
    f(n, l, t, seg);
    t += seg;
  }
}

// op(B) = [col_n0 … col_n0+G−1] (R × G·L) packed straight from x (forward: y = w · col).
struct Im2colB final : BSource {
  const float* x; const ConvGeom& g; int64_t n0;
  Im2colB(const float* x_, const ConvGeom& g_, int64_t n0_) : x(x_), g(g_), n0(n0_) {}
  void pack(int k0, int j0, int kc, int nc, int nr, float* dst) const override {
    const int64_t L = g.Ho * g.Wo, X = g.Ci * g.H * g.W;
    for (int jr = 0; jr < nc; jr += nr) {
      const int n = imin(nr, nc - jr);
      float* d = dst + static_cast<ptrdiff_t>(jr) * kc;
      for (int k = 0; k < kc; k++) {
        float* dk = d + static_cast<ptrdiff_t>(k) * nr;
        image_runs(j0 + jr, n, L, [&](int64_t im, int64_t l, int64_t t, int64_t len) {
          col_row<true>(x + (n0 + im) * X, g, k0 + k, l, len, dk + t, 1);
        });
        for (int j = n; j < nr; j++) dk[j] = 0.0f;
      }
    }
  }
};

// op(A) = [col_n0 … ] (R × G·L), k running over the batch's columns (backward-weight).
struct Im2colA final : ASource {
  const float* x; const ConvGeom& g; int64_t n0;
  Im2colA(const float* x_, const ConvGeom& g_, int64_t n0_) : x(x_), g(g_), n0(n0_) {}
  void pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const override {
    const int64_t L = g.Ho * g.Wo, X = g.Ci * g.H * g.W;
    int ir = 0;
    for (int p = 0; p < np; ir += h[p++]) {
      float* d = dst + static_cast<ptrdiff_t>(p) * mr * kc;
      for (int i = 0; i < mr; i++) {
        if (i < h[p]) {
          image_runs(k0, kc, L, [&](int64_t im, int64_t l, int64_t t, int64_t len) {
            col_row<false>(x + (n0 + im) * X, g, i0 + ir + i, l, len, d + i + t * mr, mr);
          });
        } else {
          for (int k = 0; k < kc; k++) d[static_cast<ptrdiff_t>(k) * mr + i] = 0.0f;
        }
      }
    }
  }
};

// An N×C×L tensor p seen, for a batch of images from n0, as the C × G·L matrix
// [p_n0 … p_n0+G−1]: as op(B) (rows = channels, NclB), as op(A) (NclA), or transposed as op(B)
// (G·L × C, NclTB).
struct NclB final : BSource {
  const float* p; int64_t C, L, n0;
  NclB(const float* p_, int64_t C_, int64_t L_, int64_t n0_) : p(p_), C(C_), L(L_), n0(n0_) {}
  void pack(int k0, int j0, int kc, int nc, int nr, float* dst) const override {
    for (int jr = 0; jr < nc; jr += nr) {
      const int n = imin(nr, nc - jr);
      float* d = dst + static_cast<ptrdiff_t>(jr) * kc;
      for (int k = 0; k < kc; k++) {
        float* dk = d + static_cast<ptrdiff_t>(k) * nr;
        image_runs(j0 + jr, n, L, [&](int64_t im, int64_t l, int64_t t, int64_t len) {
          std::memcpy(dk + t, p + ((n0 + im) * C + k0 + k) * L + l, sizeof(float) * len);
        });
        for (int j = n; j < nr; j++) dk[j] = 0.0f;
      }
    }
  }
};

struct NclA final : ASource {
  const float* p; int64_t C, L, n0;
  NclA(const float* p_, int64_t C_, int64_t L_, int64_t n0_) : p(p_), C(C_), L(L_), n0(n0_) {}
  void pack(int i0, int k0, const int* h, int np, int kc, int mr, float* dst) const override {
    int ir = 0;
    for (int q = 0; q < np; ir += h[q++]) {
      float* d = dst + static_cast<ptrdiff_t>(q) * mr * kc;
      for (int i = 0; i < mr; i++) {
        if (i < h[q]) {
          image_runs(k0, kc, L, [&](int64_t im, int64_t l, int64_t t, int64_t len) {
            const float* s = p + ((n0 + im) * C + i0 + ir + i) * L + l;
            for (int64_t u = 0; u < len; u++) d[(t + u) * mr + i] = s[u];
          });
        } else {
          for (int k = 0; k < kc; k++) d[static_cast<ptrdiff_t>(k) * mr + i] = 0.0f;
        }
      }
    }
  }
};

struct NclTB final : BSource {
  const float* p; int64_t C, L, n0;
  NclTB(const float* p_, int64_t C_, int64_t L_, int64_t n0_) : p(p_), C(C_), L(L_), n0(n0_) {}
  void pack(int k0, int j0, int kc, int nc, int nr, float* dst) const override {
    const float* src[64];
    for (int jr = 0; jr < nc; jr += nr) {
      const int n = imin(nr, nc - jr);
      float* d = dst + static_cast<ptrdiff_t>(jr) * kc;
      image_runs(k0, kc, L, [&](int64_t im, int64_t l, int64_t t, int64_t len) {
        for (int j = 0; j < n; j++) src[j] = p + ((n0 + im) * C + j0 + jr + j) * L + l;
        for (int64_t u = 0; u < len; u++) {
          float* du = d + (t + u) * nr;
          int j = 0;
          for (; j < n; j++) du[j] = src[j][u];
          for (; j < nr; j++) du[j] = 0.0f;
        }
      });
    }
  }
};

// Images per gemm: enough that a gemm has ≥ 256 columns (small feature maps would otherwise give
// thin, overhead-bound gemms). A function of the shapes only, never of the thread count.
int64_t batch_images(const ConvGeom& g) {
  const int64_t L = g.Ho * g.Wo;
  return imax(1, imin(g.N, (256 + L - 1) / L));
}

// Run body(n0, n1, gemm_threads) for each batch [n0, n1) of G images: batches in parallel when
// there are enough of them, split statically (thread i takes the i-th run of images), as every
// image-parallel kernel here splits its work. A layer then finds the images it works on in its own
// core's cache, where the previous layer's thread wrote them; handed out dynamically, each layer's
// images landed on either core, and the tiny UNet's forward (2 threads, B = 64) took 59–60 ms
// against 46–54 ms static (2026-12-06, Zen 5, bench/RESULTS.md) — and was no faster static or
// dynamic with a busy process on one of the two cores (78–79 vs 74–75 ms). Which thread runs a batch
// does not change its arithmetic.
template <class F>
bool per_batch(const ConvGeom& g, int64_t G, int nt, F body) {
  const int64_t N = g.N, B = (N + G - 1) / G;
  const double flops = 2.0 * g.N * g.Co * g.Ho * g.Wo * g.Ci * g.KH * g.KW;
  if (flops < 4e6 * nt) nt = 1;  // too little work to wake threads for (see sgemm)
  if (B >= nt && nt > 1) {
    bool ok = true;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(&& : ok)
    for (int64_t b = 0; b < B; b++) ok = body(b * G, imin(N, (b + 1) * G), 1) && ok;
    return ok;
  }
  for (int64_t b = 0; b < B; b++)
    if (!body(b * G, imin(N, (b + 1) * G), nt)) return false;
  return true;
}
