// Convolution kernels of conv.inc compiled for scalar (flags in binding.gyp).
#define KNS scalar
#include "conv.inc"
