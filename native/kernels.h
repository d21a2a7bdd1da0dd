// Per-ISA elementwise, normalisation, reduction and optimiser kernels. The same source
// (kernels.inc) is compiled three times with different -m flags into the namespaces
// cbdm::avx512, cbdm::avx2 and cbdm::scalar; `kernels()` returns the table for the current ISA.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cbdm {

struct Kernels {
  // elementwise over n floats (out may alias an input)
  void (*add)(const float* a, const float* b, float* out, int64_t n, int nt);
  void (*sub)(const float* a, const float* b, float* out, int64_t n, int nt);
  void (*mul)(const float* a, const float* b, float* out, int64_t n, int nt);
  void (*affine)(const float* a, float alpha, float beta, float* out, int64_t n, int nt);
  void (*axpy)(const float* a, float alpha, const float* b, float* out, int64_t n, int nt);
  void (*add_broadcast)(const float* a, const float* v, int64_t O, int64_t C, int64_t I, float* out, int nt);
  void (*sum_broadcast)(const float* a, int64_t O, int64_t C, int64_t I, float* out, int nt);
  void (*mul_rows)(const float* a, const float* w, int64_t N, int64_t D, float* out, int nt);
  void (*swish_forward)(const float* x, float* out, int64_t n, int nt);
  void (*swish_backward)(const float* x, const float* gy, float* gx, int64_t n, int nt);
  void (*relu_forward)(const float* x, float* out, int64_t n, int nt);
  void (*relu_backward)(const float* x, const float* gy, float* gx, int64_t n, int nt);
  void (*scale_in_place)(float* a, float s, int64_t n, int nt);
  // data movement, copies only (the same bits as src/engine/js/upsample.ts and concat.ts):
  // y (P×2H×2W) = x (P×H×W) repeated 2×2; out[o·os + i] = a[o·as + i] for o < count, i < len
  void (*upsample_nearest2x)(const float* x, float* y, int64_t P, int64_t H, int64_t W, int nt);
  void (*copy_blocks)(const float* a, int64_t a_stride, float* out, int64_t out_stride, int64_t len, int64_t count, int nt);
  // counter-based dropout (src/engine/js/dropout.ts): out = x·keep or 0, thr = ⌊p·2³²⌋
  void (*dropout)(const float* x, float* out, int64_t n, uint32_t thr, double keep, uint32_t s0, uint32_t s1, int nt);
  // reductions in float64, over fixed chunks summed in order (thread-count independent)
  double (*sum_all)(const float* a, int64_t n, int nt);
  double (*sum_squares)(const float* a, int64_t n, int nt);
  double (*sum_squared_diff)(const float* a, const float* b, int64_t n, int nt);
  double (*weighted_squared_diff)(const float* a, const float* b, const float* w, int64_t N, int64_t D, int nt);
  // group norm (x N×C×L, stats N×G)
  void (*group_norm_forward)(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                             int64_t N, int64_t C, int64_t L, int64_t G, float eps, bool swish, int nt);
  // the group norm's per-(n, c) affine form y = x·scale + shift (N×C each), and its application to
  // rows×W floats of x into dst with row stride ld (then swish when asked): group_norm_forward's
  // arithmetic, bit for bit, for the fused convolution prologue (native/conv_fused.h)
  void (*group_norm_affine)(const float* x, const float* gamma, const float* beta, float* scale, float* shift,
                            int64_t N, int64_t C, int64_t L, int64_t G, float eps, int nt);
  void (*norm_act_rows)(const float* x, int64_t rows, int64_t W, float* dst, int64_t ld, float sc, float sh, bool swish);
  // `maps` consecutive maps of L floats, map i through its own scale[i], shift[i], into dst (same
  // layout): the same arithmetic for many small maps in one call
  void (*norm_act_maps)(const float* x, int64_t maps, int64_t L, float* dst, const float* scale, const float* shift, bool swish);
  void (*group_norm_backward)(const float* x, const float* gamma, const float* beta, const float* mean, const float* rstd,
                              const float* gy, float* gx, float* g_gamma, float* g_beta,
                              int64_t N, int64_t C, int64_t L, int64_t G, bool swish, int nt);
  // optimiser
  // Hyper-parameters arrive in float64 so that 1 − β and 1 − decay are exact before rounding.
  void (*adam_step)(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
                    double eps, double weight_decay, double step, int nt);
  void (*ema_update)(float* ema, const float* p, int64_t n, double decay, int nt);
  // pooling forward over P = N·C planes (src/engine/js/pool.ts): avg (count_include_pad or the
  // in-image count) and max (NaN wins, first max on ties); window k, stride s, padding pad
  void (*avg_pool_forward)(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t k, int64_t s, int64_t pad,
                           int64_t Ho, int64_t Wo, bool count_include_pad, int nt);
  void (*max_pool_forward)(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t k, int64_t s, int64_t pad,
                           int64_t Ho, int64_t Wo, int nt);
  // row softmax in place over rows of length K (used by attention)
  void (*softmax_rows)(float* x, int64_t rows, int64_t K, int nt);
  // its backward with a scale folded in: g ← scale·P⊙(g − Σ_k P⊙g) per row (g holds gP on entry)
  void (*softmax_rows_backward)(const float* P, float* g, int64_t rows, int64_t K, float scale, int nt);
};

namespace avx512 { Kernels table(); }
namespace avx2 { Kernels table(); }
namespace scalar { Kernels table(); }

/** Kernel table for the current ISA. */
const Kernels& kernels();

}  // namespace cbdm
