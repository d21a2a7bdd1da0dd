// Kernels of kernels.inc compiled for avx512 (flags in binding.gyp).
#define KNS avx512
#include "kernels.inc"
