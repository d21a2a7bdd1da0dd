// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// ---- the inference forward with fused prologue and epilogue --------------------------------
// The UNet's ResBlock at inference is GroupNorm+swish → conv3×3 (+ temb broadcast) → GroupNorm+
// swish → conv3×3 + residual. Unfused, each arrow is a full pass over an activation: the group
// norm writes its output, the conv copies it into a zero-padded buffer, the adds read and write the
// conv's output again. Here the direct 3×3 and fp32 channel-vector kernels, which make a padded copy
// of their input anyway, normalise while copying (ConvPrologue), and add the temb term and the
// residual as they store each output vector (ConvEpilogue). The arithmetic is that of the separate
// kernels, in their order, so the result has the same bits as the unfused forward (tested).
// Every other kernel (im2col gemm, bf16) gets the same result the unfused way: a normalised copy
// of x, the kernel, then a pass of adds.

thread_local Buf tls_norm;  // the normalised input copy of the fallback (calling thread only)

bool fuses_in_kernel(const ConvGeom& g) {
  const ForwardRun run = choose(kForwardRules, g).run;
  return run == conv2d_forward_direct || (run == conv2d_forward_cv && !cv_bf16());
}
// (The pointwise tiles add the epilogue at their store too, but take no prologue: a 1×1 conv after
// a group norm gets the normalised copy below, then adds in the kernel.)

bool forward_fused(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                          const ConvPrologue* pro, const ConvEpilogue* epi, int nt) {
  const ForwardRun run = choose(kForwardRules, g).run;
  if (run == conv2d_forward_direct) return direct_forward(x, w, b, y, g, nt, pro, epi);
  if (run == conv2d_forward_pointwise && !pro) return pointwise_forward(x, w, b, y, g, nt, epi);
  if (run == conv2d_forward_cv && !cv_bf16()) return cv_forward(x, w, b, y, g, nt, pro, epi);
  const int64_t HW = g.H * g.W, L = g.Ho * g.Wo;
  float* xn = nullptr;
  if (pro) {
    xn = tls_norm.get(static_cast<size_t>(g.N * g.Ci * HW));  // reused: a fresh allocation per call page-faults
    if (!xn) return false;
    const Kernels& k = kernels();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && g.N * g.Ci * HW > 65536)
    for (int64_t nc = 0; nc < g.N * g.Ci; nc++)
      k.norm_act_rows(x + nc * HW, 1, HW, xn + nc * HW, HW, pro->scale[nc], pro->shift[nc], pro->swish);
  }
  const bool ok = run(xn ? xn : x, w, b, y, g, nt);
  if (ok && epi && (epi->channel_add || epi->residual)) {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && g.N * g.Co * L > 65536)
    for (int64_t nco = 0; nco < g.N * g.Co; nco++)
      for (int64_t l = 0; l < L; l++) y[nco * L + l] = epilogue_add(epi, y[nco * L + l], nco, nco * L + l);
  }
  return ok;
}
