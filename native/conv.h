// 2-D convolution (NCHW, cross-correlation as in PyTorch) as im2col + sgemm per image.
#pragma once
#include <cstdint>

namespace cbdm {

/** Shapes as in src/engine/backend.ts ConvGeom: x N×Ci×H×W, w Co×Ci×KH×KW, y N×Co×Ho×Wo. */
struct ConvGeom {
  int64_t N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo;
};

/**
 * The fused inference forward's prologue: the convolution's input is x·scale[n, c] + shift[n, c]
 * (then swish) — a group norm in its affine form (Kernels::group_norm_affine) — applied while the
 * kernel makes its zero-padded copy (the padding stays zero, as when the normalised tensor is
 * padded), by Kernels::norm_act_rows, the group norm kernel's own arithmetic. scale, shift: N×Ci.
 */
struct ConvPrologue { const float* scale; const float* shift; bool swish; };
/**
 * Its epilogue: y = conv + b, then + channel_add[n, co] (N×Co), then + residual[n, co, l] (y's
 * shape), added as each output is stored; a null pointer skips that term. These are the adds the
 * separate broadcast and elementwise kernels make, in the same order, so the bits are the same.
 */
struct ConvEpilogue { const float* channel_add; const float* residual; };

/** The three passes of a convolution, each with its own rule table of kernels (conv_rules.h). */
enum class ConvPass : int { forward = 0, backward_data = 1, backward_weight = 2 };

// The same kernels compiled per ISA (conv_kernels.h); the unqualified functions below dispatch.
#define CBDM_CONV_DECLS                                                                              \
  bool conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt); \
  bool conv2d_backward_data(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt);         \
  bool conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, const ConvGeom& g, int nt); \
  const char* conv_kernel_name(const ConvGeom& g, ConvPass pass);                                     \
  bool conv2d_forward_fused(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, \
                            const ConvPrologue* pro, const ConvEpilogue* epi, int nt);                    \
  bool conv_forward_fuses(const ConvGeom& g);
namespace avx512 { CBDM_CONV_DECLS }
namespace avx2 { CBDM_CONV_DECLS }
namespace scalar { CBDM_CONV_DECLS }
#undef CBDM_CONV_DECLS

/** y = conv(x, w) + b (b may be null). Matches js conv2dForward. False if out of memory. */
bool conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt);
/** gx from gy and w (js conv2dBackwardData). */
bool conv2d_backward_data(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt);
/** gw (and gb when not null) from x and gy (js conv2dBackwardWeight). */
bool conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, const ConvGeom& g, int nt);
/**
 * y = conv(prologue(x), w) + b + epilogue terms (pro, epi may be null): the inference forward of
 * native/conv_fused.h. The direct 3×3 and the fp32 channel-vector kernels apply both in their
 * padded copy and store; every other kernel gets a normalised copy of x and a pass of adds after
 * it. False if out of memory.
 */
bool conv2d_forward_fused(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                          const ConvPrologue* pro, const ConvEpilogue* epi, int nt);
/** Whether conv2d_forward_fused applies prologue and epilogue inside the kernel for this geometry now. */
bool conv_forward_fuses(const ConvGeom& g);
/** The name of the kernel that computes `pass` of this convolution now (ISA and settings as they are). */
const char* conv_kernel_name(const ConvGeom& g, ConvPass pass);

}  // namespace cbdm
