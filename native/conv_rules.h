// A fragment of the convolution kernels' translation unit: included only by conv_kernels.h,
// inside its namespaces (cbdm::<isa>::{anonymous}), so every ISA build has its own copy.
#pragma once
// bf16 1×1 forward: y_n = w · x_n + b.
bool forward_pointwise_bf16(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo;
  return gemm_bf16_batched(g.Co, L, g.Ci, w, g.Ci, 1, x, g.Ci * L, L, y, g.Co * L, L, g.N, b, nt);
}

// bf16 1×1 backward-data: gx_n = wᵀ · gy_n.
bool backward_data_pointwise_bf16(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo;
  return gemm_bf16_batched(g.Ci, L, g.Co, w, 1, g.Ci, gy, g.Co * L, L, gx, g.Ci * L, L, g.N, nullptr, nt);
}

bool any_shape(const ConvGeom&) { return true; }
// The channel-vector kernels compute in bf16 when bf16 is asked for: the same kernel under two
// names, so that the name says the precision.
bool cv_forward_bf16_ok(const ConvGeom& g) { return cv_bf16() && cv_forward_ok(g); }
bool cv_backward_data_bf16_ok(const ConvGeom& g) { return cv_bf16() && cv_backward_data_ok(g); }
// direct kernel forward (6 channels × 4 rows tile, weights blocked per tile, padded maps in a kept
// buffer): with AVX-512 on every map it takes (width a multiple of 16), at 2 threads vs the im2col
// gemm 2.3–2.5× at 32→32 16×16 (64 images), 1.26–1.67× from 128 to 512 channels at 16×16 and 32×32
// (16 images; 324–372 GFLOP/s, 72–83 % of the 2-core peak). With AVX2 (8-float vectors, 2 channels
// × 4 rows) only up to 64 output channels, as measured there before. (2026-12-06, Zen 5,
// bench/RESULTS.md)
bool direct_forward_ok(const ConvGeom& g) { return direct_conv3(g) && (DW_VL == 16 || g.Co <= 64); }
// its short-row tiles (maps of width 4 and 8, conv_direct3_short.h), AVX-512 only, on every map
// they can take. At 2 threads vs the channel-vector kernel: 128→128 8×8 (16 images) 1.25–1.35×
// (fused 1.05–1.3×), 256→128 8×8 fused 1.1× (2026-12-06); since their masked taps became loads
// and ANDs (2026-12-07: +12–16 % on those shapes) also the 64-channel maps of 64 images: 64→64
// 8×8 1.08–1.1× (fused and plain), 32→64 8×8 fused 1.15×, 128→64 8×8 and the 4×4 maps fused
// 1.0–1.03×. vs the im2col gemm (256 output channels, k 2304, which the channel-vector kernel
// declines): 1.6–1.8× at 256→256 4×4, 1.2–1.3× at 256/512→256 8×8. With AVX2 (4×4 maps only: a
// vector is two rows of 4) only where the channel-vector kernel declines: there 1.3–1.4× the gemm
// (256→256 4×4), elsewhere 0.8–0.95× the channel-vector kernel (forced on this Zen 5, 2026-12-07).
// (Zen 5, bench/RESULTS.md)
bool direct_short_forward_ok(const ConvGeom& g) { return direct_conv3_short(g) && (DW_VL == 16 || !cv_forward_ok(g)); }
// In bf16 precision the fp32 direct kernel (row tiles) still takes the maps with ≥ 64 output
// channels, where it is faster than the bf16 kernels would be: at 2 threads, 16 images, vs the
// kernel bf16 precision ran, 64→64 32×32 2.4× (bf16 channel-vector), 128→128 32×32 1.25–1.4× and
// 256→256 16×16 1.1–1.2× (bf16 im2col gemm), 128→128 16×16 equal — and it fuses the group norm
// and the adds, which the bf16 kernels do not. So do its short-row tiles where bf16 would take the
// im2col gemm (k > 2048): 256→256 8×8 1.2×, 256→128 8×8 fused 1.5×. 32→32 16×16 (64 images) stays
// in bf16 (1.09× the fp32 kernel there), as do the other 8×8 and 4×4 maps (bf16 channel-vector
// 1.1–1.7× the fp32 kernels). (2026-12-06, Zen 5, bench/RESULTS.md)
bool direct_over_bf16_ok(const ConvGeom& g) { return bf16_kernels() && g.Co >= 64 && direct_forward_ok(g); }
bool short_over_bf16_ok(const ConvGeom& g) {
  return bf16_kernels() && direct_short_forward_ok(g) && g.Ci * g.KH * g.KW > 2048;
}
// direct kernel backward-data (a forward on gy: g.Co input channels, g.Ci output channels): with
// AVX-512 vs the gemm at 2 threads, 1.08–1.29× from 64 to 512 channels (one tie, 128→256 at
// 32×32: 0.99×) and 4.7× into the output conv's 3 channels' adjoint; the UNet's first conv (3
// input channels here, < 8) stays on the gemm. With bf16 precision, and with AVX2, only the output
// conv's case (< 16 input channels here) runs it; the rest go to the bf16 kernels below.
bool direct_backward_data_ok(const ConvGeom& g) {
  if (!direct_conv3(g) || g.Ci < 8) return false;
  return g.Co < 16 || (DW_VL == 16 && !bf16_kernels());
}

// pointwise tiles (conv_pointwise.h) forward, AVX-512 only (with AVX2's 2-channel × 4-vector tiles
// they ran at 0.4–1.0× the gemm on the same shapes, forced on this Zen 5), from 256 output
// positions in the batch: at 2 threads vs the im2col gemm 1.35–1.4× at
// 64→64 4×4 and 96→32 16×16 (64 images), 1.1–1.25× at 64→64 and 128→64 8×8, 1.05–1.25× from 128
// to 384 channels at 8×8 to 32×32 (16 images), 1.0–1.05× at 64→64 32×32; one 8×8 image 0.92×.
// In bf16 precision it also takes the maps where it beats the bf16 gemm: ≤ 8×8 or ≤ 64 output
// channels (64→64 4×4 and 8×8 and 96→32 16×16 1.8–2.4×, 256→256 8×8 1.1–1.2×); the bf16 gemm keeps
// 256→256 16×16 and 128→256, 384→128 32×32 (1.1–1.15× there). (2026-12-07, Zen 5, bench/RESULTS.md)
bool pointwise_forward_ok(const ConvGeom& g) { return DW_VL == 16 && pointwise_geometry(g) && g.N * g.H * g.W >= 256; }
bool pointwise_over_bf16_ok(const ConvGeom& g) {
  return bf16_kernels() && pointwise_forward_ok(g) && (g.H * g.W <= 64 || g.Co <= 64);
}

// ---- the kernel choice: one ordered rule table per pass -------------------------------------
// The first rule whose `eligible` holds runs; the last, the im2col gemm, takes every shape. The
// reasons for each rule's place and bounds are at its `eligible` function.
template <class Run>
struct ConvRule {
  const char* name;
  bool (*eligible)(const ConvGeom&);
  Run run;
};
using ForwardRun = bool (*)(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt);
using DataRun = bool (*)(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt);
using WeightRun = bool (*)(const float* x, const float* gy, float* gw, const ConvGeom& g, int nt);

const ConvRule<ForwardRun> kForwardRules[] = {
    {"direct-3x3", direct_over_bf16_ok, conv2d_forward_direct},
    {"direct-3x3-short-rows", short_over_bf16_ok, conv2d_forward_direct},
    {"pointwise", pointwise_over_bf16_ok, conv2d_forward_pointwise},
    {"bf16-gemm-1x1", gb_pointwise_ok, forward_pointwise_bf16},
    {"bf16-im2col-gemm", gb_forward_ok, conv2d_forward_bf16_gemm},
    {"bf16-channel-vector", cv_forward_bf16_ok, conv2d_forward_cv},
    {"direct-3x3", direct_forward_ok, conv2d_forward_direct},
    {"direct-3x3-short-rows", direct_short_forward_ok, conv2d_forward_direct},
    {"pointwise", pointwise_forward_ok, conv2d_forward_pointwise},
    {"channel-vector", cv_forward_ok, conv2d_forward_cv},
    {"im2col-gemm", any_shape, conv2d_forward_gemm},
};
const ConvRule<DataRun> kBackwardDataRules[] = {
    {"direct-3x3", direct_backward_data_ok, conv2d_backward_data_direct},
    {"bf16-gemm-1x1", gb_pointwise_ok, backward_data_pointwise_bf16},
    {"bf16-channel-vector", cv_backward_data_bf16_ok, conv2d_backward_data_cv},
    {"channel-vector", cv_backward_data_ok, conv2d_backward_data_cv},
    {"bf16-gemm-col2im", gb_strided_data_ok, conv2d_backward_data_bf16_col},
    {"im2col-gemm", any_shape, conv2d_backward_data_gemm},
};
const ConvRule<WeightRun> kBackwardWeightRules[] = {
    {"bf16-gemm-1x1", gb_pointwise_ok, conv2d_backward_weight_pointwise_bf16},
    {"bf16-channel-vector", cvw_bf16_ok, conv2d_backward_weight_bf16},
    {"direct-3x3", direct_wgrad, conv2d_backward_weight_direct},
    {"map-dot", dot_wgrad_ok, conv2d_backward_weight_dot},
    {"im2col-gemm", any_shape, conv2d_backward_weight_gemm},
};

template <class Run, size_t n>
const ConvRule<Run>& choose(const ConvRule<Run> (&rules)[n], const ConvGeom& g) {
  for (size_t i = 0; i + 1 < n; i++)
    if (rules[i].eligible(g)) return rules[i];
  return rules[n - 1];
}
