// Convolution as GEMM. Per image n, with L = Ho·Wo and R = Ci·KH·KW:
//   col_n (R×L) = im2col(x_n)            col[(ci·KH+p)·KW+q, i·Wo+j] = x[ci, i·s−pad+p, j·s−pad+q]
//   forward:       y_n (Co×L)  = w (Co×R) · col_n             (+ b broadcast over L)
//   backward-data: col (R×L)   = wᵀ · gy_n,  gx_n = col2im(col)  (the adjoint of im2col)
//   backward-wt:   gwᵀ (R×Co)  = Σ_n col_n · gy_nᵀ,  gb = Σ_{n,l} gy_n
// A 1×1 stride-1 unpadded conv needs no im2col: col_n is x_n itself. Otherwise col_n is never
// materialised for the forward and backward-weight: the gemm's packing routines read it straight
// from x (Im2colB / Im2colA, "implicit GEMM"); backward-data writes col and scatters it (col2im).
// Small maps batch G images per gemm (columns [col_n0 … col_n0+G−1], G·L ≥ 256, G a function of
// the shapes only), so a 4×4 map does not make a 16-column gemm.
// Threads: forward and backward-data run batches in parallel (one single-threaded gemm each);
// backward-weight runs fixed groups of images in parallel (one gemm per group, k over the group's
// columns) and adds the groups' partial sums in order. Either way each output element is computed
// in a fixed order, independent of the thread count.
//
// This file (with the conv_*.h fragments it includes) is compiled once per ISA (conv_<isa>.cpp sets KNS and the -m flags) so that the
// packing loops vectorise; the gemm microkernels are picked at run time as everywhere else.
// Like kernels.inc it uses no inline library templates (std::min, std::fill, …): the linker
// keeps one copy of those per program, which might be another ISA's.//
// The kernel families, one file each (included below, in dependency order):
//   conv_common.h                 min/max, scratch buffers, vector width, zero-padded maps
//   conv_im2col.h                 implicit im2col operand sources, col2im, batching small images
//   conv_direct3.h                direct 3×3 stride-1 kernels (forward, backward-data, backward-weight)
//   conv_wgrad_dot.h              backward-weight as dot products along the maps (1×1; 3×3 into few channels)
//   conv_pointwise.h              direct 1×1 forward tiles
//   conv_channel_vector.h         channel-vector ("cv") register tiles, fp32
//   conv_bf16.h                   bf16 tiles (cv and backward-weight) and the bf16 gemm (AVX512-BF16)
//   conv_channel_vector_driver.h  the cv driver and its forward / backward-data passes
//   conv_gemm.h                   the fp32 im2col gemm passes (every shape) and the bf16 gemm passes
//   conv_rules.h                  one ordered rule table per pass: which kernel takes a convolution
//   conv_fused.h                  the inference forward with a group-norm prologue and an add epilogue
#include "common.h"
#include "conv.h"
#include "gemm.h"
#include "kernels.h"
#include <omp.h>
#include <immintrin.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace cbdm {
namespace KNS {

namespace {

#include "buffers.h"
#include "conv_common.h"
#include "conv_im2col.h"
#include "conv_direct3.h"
#include "conv_wgrad_dot.h"
#include "conv_pointwise.h"
#include "conv_channel_vector.h"
#include "conv_bf16.h"
#include "conv_channel_vector_driver.h"
#include "conv_gemm.h"
#include "conv_rules.h"
#include "conv_fused.h"

}  // namespace


bool conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, int nt) {
  return choose(kForwardRules, g).run(x, w, b, y, g, nt);
}

bool conv2d_backward_data(const float* gy, const float* w, float* gx, const ConvGeom& g, int nt) {
  return choose(kBackwardDataRules, g).run(gy, w, gx, g, nt);
}

bool conv2d_backward_weight(const float* x, const float* gy, float* gw, float* gb, const ConvGeom& g, int nt) {
  const int64_t L = g.Ho * g.Wo, R = g.Ci * g.KH * g.KW;
  if (gb) {  // the bias gradient: per-channel sums of gy, in float64, whatever kernel takes gw
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && g.N * g.Co * L > 65536)
    for (int64_t co = 0; co < g.Co; co++) {
      double s = 0;
      for (int64_t n = 0; n < g.N; n++) {
        const float* r = gy + (n * g.Co + co) * L;
        double part = 0;
        for (int64_t l = 0; l < L; l++) part += r[l];
        s += part;
      }
      gb[co] = static_cast<float>(s);
    }
  }
  if (g.N == 0) {
    std::memset(gw, 0, sizeof(float) * g.Co * R);
    return true;
  }
  return choose(kBackwardWeightRules, g).run(x, gy, gw, g, nt);
}

bool conv2d_forward_fused(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                          const ConvPrologue* pro, const ConvEpilogue* epi, int nt) {
  return forward_fused(x, w, b, y, g, pro, epi, nt);
}

bool conv_forward_fuses(const ConvGeom& g) { return fuses_in_kernel(g); }

const char* conv_kernel_name(const ConvGeom& g, ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return choose(kForwardRules, g).name;
    case ConvPass::backward_data: return choose(kBackwardDataRules, g).name;
    case ConvPass::backward_weight: return g.N == 0 ? "none (empty batch)" : choose(kBackwardWeightRules, g).name;
  }
  return "?";
}


}  // namespace KNS
}  // namespace cbdm
