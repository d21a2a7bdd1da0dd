// Convolution kernels of conv_kernels.h compiled for avx2 (flags in binding.gyp).
#define KNS avx2
#include "conv_kernels.h"
