// Convolution kernels of conv.inc compiled for avx2 (flags in binding.gyp).
#define KNS avx2
#include "conv.inc"
