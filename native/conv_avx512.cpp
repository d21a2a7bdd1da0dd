// Convolution kernels of conv_kernels.h compiled for avx512 (flags in binding.gyp).
#define KNS avx512
#include "conv_kernels.h"
