// One spelling of kernel launches and qualifiers for both builds: nvcc (the GPU addon) and g++
// with the CPU shim (the test build, -DCBDM_CUDA_SHIM). Kernels are launched on the default
// stream; CBDM_LAUNCH_SYNC marks kernels that use __shared__ memory and __syncthreads (the shim
// runs those with one host thread per CUDA thread).
#pragma once
#ifdef __CUDACC__
#include <cuda_runtime.h>
#define CBDM_LAUNCH(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#define CBDM_LAUNCH_SYNC(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#else
#include "shim.h"
#endif
#include <cstdint>

namespace cbdm_cuda {
// Threads per block of the 1-D kernels (a power of two); the reductions' shared arrays are sized
// by it. The shim build uses 64: its cost is one fiber switch per thread per barrier, and the
// kernels are written for any power-of-two block (the GPU build keeps 256).
#ifdef __CUDACC__
constexpr int kBlock = 256;
#else
constexpr int kBlock = 64;
#endif
// Grid of a grid-stride loop over n elements (capped: each thread then loops).
inline unsigned blocks_for(int64_t n) {
  int64_t b = (n + kBlock - 1) / kBlock;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b > 65535 ? 65535 : b);
}
}  // namespace cbdm_cuda
