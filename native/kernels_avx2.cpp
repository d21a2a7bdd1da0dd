// Kernels of kernels.inc compiled for avx2 (flags in binding.gyp).
#define KNS avx2
#include "kernels.inc"
