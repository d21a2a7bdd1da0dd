// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// The passes through a gemm: the bf16 gemm's eligibility and backward-data, and the fp32 im2col
// gemm that takes every shape the other kernels do not.
// bf16 1×1 convolutions run the bf16 gemm (no window gather to avoid, and contiguous stores).
bool gb_pointwise_ok(const ConvGeom& g) { return is_pointwise(g) && bf16_kernels() && g.Ci >= 16 && g.N > 0; }

// bf16 forward through the im2col bf16 gemm rather than the cv kernel: where its contiguous stores
// and cache blocking win — k > 2048 (448→384 at 8×8: 1.5×), and stride-1 rows ≥ 32 wide with
// ≥ 96 output channels (64→96 at 35×35, 128→128 at 32×32: 1.06–1.12×); and k ≥ 64 where the cv
// kernel cannot run (output channels not a multiple of 16) but with ≥ 16 of them: the UNet's
// output conv (32→3 at 16×16, B=64) ran 7.3 GFLOP/s in the bf16 gemm (3 of its 6 tile rows, the
// 64-column panels mostly padding) against 57 in the fp32 direct kernel (1 thread, CPU clock), so
// < 16 output channels take the fp32 rules. Small maps and few channels stay on cv (32→32 at
// 16×16: 2.7×, 5×5 48→64: 2×).
bool gb_forward_ok(const ConvGeom& g) {
  if (!bf16_kernels() || is_pointwise(g) || g.N == 0) return false;
  const int64_t K = g.Ci * g.KH * g.KW;
  return K > 2048 || (g.Co >= 96 && g.Wo >= 32 && g.stride == 1) || (K >= 64 && g.Co >= 16 && !cv_forward_ok(g));
}

// bf16 backward-data for stride > 1: the bf16 gemm into col, then col2im (1.3–1.4× the fp32 gemm
// path; by output phase through the cv kernel measured 1.05×: four small maps of scattered stores).
bool gb_strided_data_ok(const ConvGeom& g) { return bf16_kernels() && g.stride > 1 && g.N > 0; }

// bf16 backward-data through col = wᵀ · gy_n (bf16 gemm) and col2im, G images at a time.
bool conv2d_backward_data_bf16_col(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW, X = g.Ci * g.H * g.W;
  const int64_t G = imax(1, imin(g.N, (int64_t(8) << 20) / imax(1, R * L)));  // ≤ 32 MB of col
  float* col = aligned_floats(G * R * L);
  if (!col) return false;
  bool ok = true;
  for (int64_t n0 = 0; n0 < g.N && ok; n0 += G) {
    const int64_t gn = imin(G, g.N - n0);
    ok = gemm_bf16_batched(R, L, g.Co, w, 1, R, gy + n0 * g.Co * L, g.Co * L, L, col, R * L, L, gn, nullptr, nt);
    ConvGeom g1 = g;  // one input channel: col2im per (image, channel), in parallel
    g1.Ci = 1;
    const int64_t T = g.KH * g.KW, HW = g.H * g.W;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t nc = 0; nc < gn * g.Ci; nc++) {
      float* dst = gx + n0 * X + nc * HW;
      std::memset(dst, 0, sizeof(float) * HW);
      col2im(col + (nc / g.Ci) * R * L + (nc % g.Ci) * T * L, L, dst, g1);
    }
  }
  std::free(col);
  return ok;
}

// The im2col gemm: every shape; the weights packed once for all images.
bool conv2d_forward_gemm(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW, G = batch_images(g);
  const DenseA wa(false, w, R);
  const PrepackedA wp(wa, int(g.Co), int(R));  // the weights, packed once for all images
  if (!wp.ok()) return false;
  return per_batch(g, G, nt, [&](int64_t n0, int64_t n1, int gt) {
    const int64_t cols = (n1 - n0) * L;
    const float beta = b ? 1.0f : 0.0f;
    auto run = [&](float* c, ptrdiff_t ldc, float bet) {
      return is_pointwise(g)
          ? sgemm_packed(int(g.Co), int(cols), int(R), 1.0f, wp, NclB(x, g.Ci, L, n0), bet, c, ldc, gt)
          : sgemm_packed(int(g.Co), int(cols), int(R), 1.0f, wp, Im2colB(x, g, n0), bet, c, ldc, gt);
    };
    if (n1 - n0 == 1) {  // one image: write y directly (bias first, accumulated with beta 1)
      float* yn = y + n0 * g.Co * L;
      if (b)
        for (int64_t co = 0; co < g.Co; co++)
          for (int64_t l = 0; l < L; l++) yn[co * L + l] = b[co];
      return run(yn, L, beta);
    }
    // several small images: one gemm into a Co × (G·L) scratch, then scattered (+ bias) into y
    float* c = tls_col.get(static_cast<size_t>(g.Co * cols));
    if (!c || !run(c, cols, 0.0f)) return false;
    for (int64_t n = n0; n < n1; n++)
      for (int64_t co = 0; co < g.Co; co++) {
        const float* s = c + co * cols + (n - n0) * L;
        float* d = y + (n * g.Co + co) * L;
        const float bias = b ? b[co] : 0.0f;
        if (b) for (int64_t l = 0; l < L; l++) d[l] = s[l] + bias;
        else std::memcpy(d, s, sizeof(float) * L);
      }
    return true;
  });
}

// The gemm wᵀ · gy_n into columns, then col2im (1×1: straight into gx).
bool conv2d_backward_data_gemm(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW, X = g.Ci * g.H * g.W, G = batch_images(g);
  const DenseA wt(true, w, R);
  const PrepackedA wp(wt, int(R), int(g.Co));  // wᵀ, packed once for all images
  if (!wp.ok()) return false;
  return per_batch(g, G, nt, [&](int64_t n0, int64_t n1, int gt) {
    const int64_t cols = (n1 - n0) * L;
    const NclB gyb(gy, g.Co, L, n0);
    if (is_pointwise(g) && n1 - n0 == 1)
      return sgemm_packed(int(R), int(L), int(g.Co), 1.0f, wp, gyb, 0.0f, gx + n0 * X, L, gt);
    float* c = tls_col.get(static_cast<size_t>(R * cols));  // [col_n0 … ] (R × G·L)
    if (!c || !sgemm_packed(int(R), int(cols), int(g.Co), 1.0f, wp, gyb, 0.0f, c, cols, gt)) return false;
    for (int64_t n = n0; n < n1; n++) {
      float* gxn = gx + n * X;
      if (is_pointwise(g)) {
        for (int64_t ci = 0; ci < g.Ci; ci++) std::memcpy(gxn + ci * L, c + ci * cols + (n - n0) * L, sizeof(float) * L);
      } else {
        std::memset(gxn, 0, sizeof(float) * X);
        col2im(c + (n - n0) * L, cols, gxn, g);
      }
    }
    return true;
  });
}

// The im2col gemm, grouped over images (see below).
bool conv2d_backward_weight_gemm(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW;
  // Images fall into Q groups (Q depends on N only); each group's images form one gemm whose k
  // runs over their columns in image order, giving a partial gwᵀ (R×Co); partials are added in
  // group order.
  // Groups run in parallel, and the arithmetic does not depend on the thread count.
  // Computing gwᵀ = col_n · gy_nᵀ (rather than gw = gy_n · col_nᵀ) makes the transposing pack
  // the small operand's (Co×L) instead of the im2col matrix's (R×L).
  const int64_t Q = imin(g.N, 8);
  float* parts = tls_parts.get(static_cast<size_t>(Q * R * g.Co));
  if (!parts) return false;
  auto group = [&](int64_t q, int gt) -> bool {
    // one gemm per group: k runs over the group's images' columns in image order
    const int64_t n0 = q * g.N / Q, n1 = (q + 1) * g.N / Q;
    const int K = int((n1 - n0) * L);
    const NclTB gyT(gy, g.Co, L, n0);
    float* part = parts + q * R * g.Co;
    return is_pointwise(g)
        ? sgemm_packed(int(R), int(g.Co), K, 1.0f, NclA(x, g.Ci, L, n0), gyT, 0.0f, part, g.Co, gt)
        : sgemm_packed(int(R), int(g.Co), K, 1.0f, Im2colA(x, g, n0), gyT, 0.0f, part, g.Co, gt);
  };
  bool ok = true;
  if (Q >= nt && nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static) reduction(&& : ok)
    for (int64_t q = 0; q < Q; q++) ok = group(q, 1) && ok;
  } else {
    for (int64_t q = 0; q < Q && ok; q++) ok = group(q, nt);
  }
  if (!ok) return false;
  // Add the partials into the first (contiguous, in group order), then transpose in 32×32 tiles.
  const int64_t RC = R * g.Co;
  if (Q > 1) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && RC * Q > 65536)
    for (int64_t i0 = 0; i0 < RC; i0 += 4096) {
      const int64_t i1 = imin(RC, i0 + 4096);
      for (int64_t q = 1; q < Q; q++) {
        const float* part = parts + q * RC;
        for (int64_t i = i0; i < i1; i++) parts[i] += part[i];
      }
    }
  }
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && RC > 65536)
  for (int64_t c0 = 0; c0 < g.Co; c0 += 32) {
    const int64_t c1 = imin(g.Co, c0 + 32);
    for (int64_t r0 = 0; r0 < R; r0 += 32) {
      const int64_t r1 = imin(R, r0 + 32);
      for (int64_t co = c0; co < c1; co++)
        for (int64_t r = r0; r < r1; r++) gw[co * R + r] = parts[r * g.Co + co];
    }
  }
  return true;
}
