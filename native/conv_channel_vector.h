// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- direct conv with output channels in vectors, input positions broadcast ("cv") ----------
// y[n, co, oh, ow] = b[co] + Σ_{ci,p,q} xp[n, ci, oh·s + p, ow·s + q] · w[co, ci, p, q], xp = x
// zero-padded by (ph, pw). Why: on maps of 8×8 and below a row holds fewer positions than a
// vector, so the row kernel above cannot run, and the im2col gemm spends its time packing runs of
// 4–8 floats; on larger maps of odd width (Inception's 35×35 and 17×17, its 1×7 and 5×5 kernels)
// the im2col packing costs nearly as much. Here the weights are reordered once into rows wk[k][co]
// (k = (ci, p, q)) — the vector operand — and a tile of R positions × NV vectors of output channels accumulates over
// all k, each position's input read as one broadcast from the padded maps through a k → offset
// table. No im2col, no packing. Tiles may span images; each output element is summed in k order
// by one thread, so results do not depend on the thread count.
#if defined(__AVX512F__) || defined(__AVX2__)
template <int NV> struct CvTile;
#if defined(__AVX512F__)
template <> struct CvTile<1> { static constexpr int R = 14; };
template <> struct CvTile<2> { static constexpr int R = 12; };
template <> struct CvTile<3> { static constexpr int R = 8; };
template <> struct CvTile<4> { static constexpr int R = 6; };
constexpr int CV_NVMAX = 4;
#else
template <> struct CvTile<1> { static constexpr int R = 12; };
template <> struct CvTile<2> { static constexpr int R = 6; };
constexpr int CV_NVMAX = 2;
#endif

inline int cv_rows(int nv) {
  switch (nv) {
    case 1: return CvTile<1>::R;
    case 2: return CvTile<2>::R;
#if defined(__AVX512F__)
    case 3: return CvTile<3>::R;
    case 4: return CvTile<4>::R;
#endif
  }
  return 0;
}

// off[r]: where output position p0 + r (of the flattened N·Ho·Wo) reads tap (0, 0) in the padded
// maps; positions past np (a short last tile) repeat the first.
template <int R>
inline void cv_offsets(int64_t* off, int64_t p0, int64_t np, int64_t Lo, int64_t Wo, int64_t plane_n, int64_t Wp, int64_t s) {
  for (int r = 0; r < R; r++) {
    const int64_t pos = p0 + (r < np ? r : 0), n = pos / Lo, l = pos % Lo;
    off[r] = n * plane_n + (l / Wo) * s * Wp + (l % Wo) * s;
  }
}

// Scatter the nc channel values t of output position pos (channels co0 …) into NCHW out.
inline void cv_store(float* out, int64_t Cout, int64_t Lo, int64_t pos, int64_t co0, const float* t, int nc) {
  float* o = out + (pos / Lo) * Cout * Lo + co0 * Lo + pos % Lo;
  for (int i = 0; i < nc; i++) o[i * Lo] = t[i];
}

// cv_store with the epilogue's adds (conv_common.h ConvEpilogue) on each value.
inline void cv_store_epilogue(float* out, int64_t Cout, int64_t Lo, int64_t pos, int64_t co0, const float* t, int nc,
                              const ConvEpilogue* epi) {
  const int64_t n = pos / Lo, at = n * Cout * Lo + co0 * Lo + pos % Lo;
  for (int i = 0; i < nc; i++) out[at + i * Lo] = epilogue_add(epi, t[i], n * Cout + co0 + i, at + i * Lo);
}

// Gather them back (the partial sums of an earlier k block).
inline void cv_load(const float* out, int64_t Cout, int64_t Lo, int64_t pos, int64_t co0, float* t, int nc) {
  const float* o = out + (pos / Lo) * Cout * Lo + co0 * Lo + pos % Lo;
  for (int i = 0; i < nc; i++) t[i] = o[i * Lo];
}

// Positions [p0, p0 + R) of the flattened N·Ho·Wo outputs (the last tile may be short: its
// missing positions repeat the first and are not stored), output channels [co0, co0 + NV·VL),
// taps k ∈ [k0, k1): the first k block starts from the bias, a later one (`partial`) from the
// sums the earlier blocks stored in out, so each element is still summed in k order. `epi` (the
// last k block only) adds the fused epilogue's terms at the store.
template <int NV>
void cv_tile(const float* xp, const int32_t* kofs, int64_t k0, int64_t k1, const float* wk, const float* bias, bool partial,
             float* out, int64_t Cout, int64_t Lo, int64_t Wo, int64_t plane_n, int64_t Wp, int64_t s, int64_t p0, int64_t np,
             int64_t co0, const ConvEpilogue* epi) {
  constexpr int R = CvTile<NV>::R;
  int64_t off[R];
  cv_offsets<R>(off, p0, np, Lo, Wo, plane_n, Wp, s);
  dwv acc[R][NV];
  if (partial) {
    for (int r = 0; r < R; r++) {
      float t[NV * DW_VL];
      if (r < np) cv_load(out, Cout, Lo, p0 + r, co0, t, NV * DW_VL);
      else std::memset(t, 0, sizeof t);
      std::memcpy(acc[r], t, sizeof t);
    }
  } else {
    for (int v = 0; v < NV; v++) {
      dwv b0 = dwv{};
      if (bias) b0 = dw_load(bias + co0 + v * DW_VL);
      for (int r = 0; r < R; r++) acc[r][v] = b0;
    }
  }
  const float* wrow = wk + k0 * Cout + co0;
  for (int64_t k = k0; k < k1; k++, wrow += Cout) {
    dwv wv[NV];
    for (int v = 0; v < NV; v++) wv[v] = dw_load(wrow + v * DW_VL);
    const float* xk = xp + kofs[k];
    for (int r = 0; r < R; r++) {
      const dwv a = dw_splat(xk[off[r]]);
      for (int v = 0; v < NV; v++) acc[r][v] += a * wv[v];
    }
  }
  for (int r = 0; r < np; r++) {
    float t[NV * DW_VL];
    std::memcpy(t, acc[r], sizeof t);
    if (epi) cv_store_epilogue(out, Cout, Lo, p0 + r, co0, t, NV * DW_VL, epi);
    else cv_store(out, Cout, Lo, p0 + r, co0, t, NV * DW_VL);
  }
}
#endif  // __AVX512F__ || __AVX2__
