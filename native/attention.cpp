// Attention as GEMMs, per image n (all matrices row-major; q, k, v, y are C×L, P and S are L×L):
//   S = qᵀ·k / √C        P = softmax_rows(S)        y = v·Pᵀ
// Backward:
//   gP = gyᵀ·v           gS = P⊙(gP − rowsum(P⊙gP)) / √C
//   gq = k·gSᵀ           gk = q·gS                  gv = gy·P
// Images run in parallel (single-threaded gemms) when there are at least as many as threads,
// else one at a time with threaded gemms; either way the arithmetic per element is fixed.
#include "attention.h"
#include "gemm.h"
#include "kernels.h"
#include <omp.h>
#include <cmath>
#include <cstdlib>

namespace cbdm {

namespace {

#include "buffers.h"

thread_local Buf tls_gs;

template <class F>
bool per_image(int64_t N, int nt, F body) {
  if (N >= nt && nt > 1) {
    bool ok = true;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(&& : ok)
    for (int64_t n = 0; n < N; n++) ok = body(n, 1) && ok;
    return ok;
  }
  for (int64_t n = 0; n < N; n++)
    if (!body(n, nt)) return false;
  return true;
}

}  // namespace

bool attention_forward(const float* q, const float* k, const float* v, float* y, float* P,
                       int64_t N, int64_t C, int64_t L, int nt) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(C)));
  const Kernels& kn = kernels();
  return per_image(N, nt, [&](int64_t n, int gt) {
    const int64_t o = n * C * L;
    float* Pn = P + n * L * L;
    if (!sgemm(true, false, int(L), int(L), int(C), scale, q + o, L, k + o, L, 0.0f, Pn, L, gt)) return false;
    kn.softmax_rows(Pn, L, L, gt);
    return sgemm(false, true, int(C), int(L), int(L), 1.0f, v + o, L, Pn, L, 0.0f, y + o, L, gt);
  });
}

bool attention_backward(const float* q, const float* k, const float* v, const float* P, const float* gy,
                        float* gq, float* gk, float* gv, int64_t N, int64_t C, int64_t L, int nt) {
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(C)));
  const Kernels& kn = kernels();
  return per_image(N, nt, [&](int64_t n, int gt) {
    const int64_t o = n * C * L;
    const float* Pn = P + n * L * L;
    float* gS = tls_gs.get(static_cast<size_t>(L * L));
    if (!gS) return false;
    if (!sgemm(true, false, int(L), int(L), int(C), 1.0f, gy + o, L, v + o, L, 0.0f, gS, L, gt)) return false;
    kn.softmax_rows_backward(Pn, gS, L, L, scale, gt);
    return sgemm(false, true, int(C), int(L), int(L), 1.0f, k + o, L, gS, L, 0.0f, gq + o, L, gt) &&
           sgemm(false, false, int(C), int(L), int(L), 1.0f, q + o, L, gS, L, 0.0f, gk + o, L, gt) &&
           sgemm(false, false, int(C), int(L), int(L), 1.0f, gy + o, L, Pn, L, 0.0f, gv + o, L, gt);
  });
}

}  // namespace cbdm
