// Convolution kernels of conv_kernels.h compiled for scalar (flags in binding.gyp).
#define KNS scalar
#include "conv_kernels.h"
