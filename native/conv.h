// 2-D convolution (NCHW, cross-correlation as in PyTorch) as im2col + sgemm per image.
#pragma once
#include <cstdint>

namespace cbdm {

/** Shapes as in src/engine/backend.ts ConvGeom: x N×Ci×H×W, w Co×Ci×KH×KW, y N×Co×Ho×Wo. */
struct ConvGeom {
  int64_t N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo;
};

/** The three passes of a convolution, each with its own rule table of kernels (conv_rules.h). */
enum class ConvPass : int { forward = 0, backward_data = 1, backward_weight = 2 };

// The same kernels compiled per ISA (conv_kernels.h); the unqualified functions below dispatch.
#define CBDM_CONV_DECLS                                                                              \
  bool conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt); \
  bool conv2d_backward_data(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt);         \
  bool conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, const ConvGeom& g, int nt); \
  const char* conv_kernel_name(const ConvGeom& g, ConvPass pass);
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
/** The name of the kernel that computes `pass` of this convolution now (ISA and settings as they are). */
const char* conv_kernel_name(const ConvGeom& g, ConvPass pass);

}  // namespace cbdm
