// Dispatch of the convolution kernels (conv_kernels.h, compiled per ISA) to the selected ISA.
#include "conv.h"
#include "common.h"

namespace cbdm {

bool conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv2d_forward(x, w, b, y, g, nt);
    case Isa::avx2: return avx2::conv2d_forward(x, w, b, y, g, nt);
    case Isa::scalar: break;
  }
  return scalar::conv2d_forward(x, w, b, y, g, nt);
}

bool conv2d_backward_data(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv2d_backward_data(gy, w, gx, g, nt);
    case Isa::avx2: return avx2::conv2d_backward_data(gy, w, gx, g, nt);
    case Isa::scalar: break;
  }
  return scalar::conv2d_backward_data(gy, w, gx, g, nt);
}

bool conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, const ConvGeom& g, int nt) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv2d_backward_weight(x, gy, gw, gb, g, nt);
    case Isa::avx2: return avx2::conv2d_backward_weight(x, gy, gw, gb, g, nt);
    case Isa::scalar: break;
  }
  return scalar::conv2d_backward_weight(x, gy, gw, gb, g, nt);
}

bool conv2d_forward_fused(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                          const ConvPrologue* pro, const ConvEpilogue* epi, int nt) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv2d_forward_fused(x, w, b, y, g, pro, epi, nt);
    case Isa::avx2: return avx2::conv2d_forward_fused(x, w, b, y, g, pro, epi, nt);
    case Isa::scalar: break;
  }
  return scalar::conv2d_forward_fused(x, w, b, y, g, pro, epi, nt);
}

bool conv_forward_fuses(const ConvGeom& g) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv_forward_fuses(g);
    case Isa::avx2: return avx2::conv_forward_fuses(g);
    case Isa::scalar: break;
  }
  return scalar::conv_forward_fuses(g);
}

const char* conv_kernel_name(const ConvGeom& g, ConvPass pass) {
  switch (current_isa()) {
    case Isa::avx512: return avx512::conv_kernel_name(g, pass);
    case Isa::avx2: return avx2::conv_kernel_name(g, pass);
    case Isa::scalar: break;
  }
  return scalar::conv_kernel_name(g, pass);
}

}  // namespace cbdm
