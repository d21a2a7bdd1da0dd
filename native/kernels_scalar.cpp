// Kernels of kernels.inc compiled for scalar (flags in binding.gyp).
#define KNS scalar
#include "kernels.inc"
