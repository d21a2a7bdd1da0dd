// Self-attention over the H·W positions as GEMMs around a row softmax (js/attention.ts).
#pragma once
#include <cstdint>

namespace cbdm {

/** q, k, v, y N×C×L; P N×L×L (saved). False if out of memory. */
bool attention_forward(const float* q, const float* k, const float* v, float* y, float* P,
                       int64_t N, int64_t C, int64_t L, int nt);
/** gq, gk, gv (N×C×L) from gy and the saved P. */
bool attention_backward(const float* q, const float* k, const float* v, const float* P, const float* gy,
                        float* gq, float* gk, float* gv, int64_t N, int64_t C, int64_t L, int nt);

}  // namespace cbdm
