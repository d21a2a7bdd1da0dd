// CPU shim: lets the kernels in *.cuh compile with g++ and run on the host, so that CI (no GPU)
// checks the very kernel text nvcc compiles against the `js` reference.
//
// Model: a launch runs its blocks one after another on the calling thread. CBDM_LAUNCH (kernels
// without block-level synchronisation) runs every thread of a block as a plain loop.
// CBDM_LAUNCH_SYNC (kernels using __shared__ and __syncthreads) runs each CUDA thread of the block
// as a fiber (its own stack); __syncthreads switches back to the block's scheduler, and a barrier
// completes when every thread of the block has reached it, after which all resume. (One OS thread
// per CUDA thread with a std::barrier is the same model but costs ~0.3 ms per thread start on a
// busy 2-core machine; fibers keep the shim test build fast.) __shared__
// becomes a function-static variable, block-local because blocks never overlap. The shim checks
// what a GPU leaves undefined: a __syncthreads reached by only some threads of a block, or one
// under CBDM_LAUNCH, aborts with a message.
// The shim cannot run warp intrinsics, tensor-core instructions or async copies, and says nothing
// about speed; kernels using those live in *_gpu.cuh files that only nvcc compiles.
#pragma once
#ifdef __CUDACC__
#error "shim.h is the CPU stand-in for CUDA; nvcc builds include cuda_runtime.h instead"
#endif
#include <setjmp.h>
#include <ucontext.h>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

struct uint3 { unsigned x, y, z; };
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace cbdm_shim {
inline thread_local uint3 thread_idx{0, 0, 0};
inline thread_local uint3 block_idx{0, 0, 0};
inline dim3 grid_dim, block_dim;

// The fibers of a CBDM_LAUNCH_SYNC launch: one per CUDA thread of a block, made once per launch
// and reused for every block. Started with setcontext, switched with _setjmp/_longjmp (no signal
// mask system call per switch, unlike swapcontext).
enum FiberState { kAtBarrier, kBlockDone };
struct Fiber {
  ucontext_t ctx;
  jmp_buf jb;
  bool started;
  FiberState state;
};
constexpr size_t kFiberStack = 16 * 1024;
inline jmp_buf scheduler;
inline std::vector<Fiber> fibers;
inline std::vector<char> stacks;
inline int current = -1;
inline const std::function<void()>* fiber_body = nullptr;

[[noreturn]] inline void die(const char* why) {
  std::fprintf(stderr, "cbdm cuda shim: %s\n", why);
  std::abort();
}

inline void yield_to_scheduler(FiberState s) {
  fibers[current].state = s;
  if (!_setjmp(fibers[current].jb)) _longjmp(scheduler, 1);
}

inline void sync_threads() {
  if (current < 0) die("__syncthreads() in a kernel launched with CBDM_LAUNCH; use CBDM_LAUNCH_SYNC");
  yield_to_scheduler(kAtBarrier);
}

// A fiber runs the kernel body once per block; the scheduler abandons it after the last block
// (nothing with a destructor is live on its stack then).
inline void fiber_entry() {
  for (;;) {
    (*fiber_body)();
    yield_to_scheduler(kBlockDone);
  }
}

template <class Body>
void launch_loop(dim3 grid, dim3 block, Body&& body) {
  grid_dim = grid;
  block_dim = block;
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        block_idx = {bx, by, bz};
        for (unsigned tz = 0; tz < block.z; tz++)
          for (unsigned ty = 0; ty < block.y; ty++)
            for (unsigned tx = 0; tx < block.x; tx++) {
              thread_idx = {tx, ty, tz};
              body();
            }
      }
}

template <class Body>
void launch_threads(dim3 grid, dim3 block, Body&& body) {
  grid_dim = grid;
  block_dim = block;
  const size_t n = static_cast<size_t>(block.x) * block.y * block.z;
  const std::function<void()> fn = body;
  fiber_body = &fn;
  fibers.resize(n);
  if (stacks.size() < n * kFiberStack) stacks.resize(n * kFiberStack);
  for (size_t t = 0; t < n; t++) {
    getcontext(&fibers[t].ctx);
    fibers[t].ctx.uc_stack.ss_sp = stacks.data() + t * kFiberStack;
    fibers[t].ctx.uc_stack.ss_size = kFiberStack;
    fibers[t].ctx.uc_link = nullptr;
    fibers[t].started = false;
    makecontext(&fibers[t].ctx, fiber_entry, 0);
  }
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        block_idx = {bx, by, bz};
        // Each round resumes every thread until it finishes the block or reaches a __syncthreads.
        for (;;) {
          size_t finished = 0;
          for (size_t t = 0; t < n; t++) {
            current = static_cast<int>(t);
            thread_idx = {static_cast<unsigned>(t % block.x), static_cast<unsigned>(t / block.x % block.y),
                          static_cast<unsigned>(t / (static_cast<size_t>(block.x) * block.y))};
            if (!_setjmp(scheduler)) {
              if (!fibers[t].started) {
                fibers[t].started = true;
                setcontext(&fibers[t].ctx);
              }
              _longjmp(fibers[t].jb, 1);
            }
            if (fibers[t].state == kBlockDone) finished++;
          }
          current = -1;
          if (finished == n) break;
          if (finished != 0) die("__syncthreads() reached by only some threads of a block (undefined on a GPU)");
        }
      }
  fiber_body = nullptr;
}
}  // namespace cbdm_shim

#define threadIdx (cbdm_shim::thread_idx)
#define blockIdx (cbdm_shim::block_idx)
#define blockDim (cbdm_shim::block_dim)
#define gridDim (cbdm_shim::grid_dim)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict
inline void __syncthreads() { cbdm_shim::sync_threads(); }
inline float atomicAdd(float* p, float v) { const float old = *p; *p = old + v; return old; }  // one OS thread
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }

#define CBDM_LAUNCH(kernel, grid, block, ...) cbdm_shim::launch_loop((grid), (block), [&] { kernel(__VA_ARGS__); })
#define CBDM_LAUNCH_SYNC(kernel, grid, block, ...) cbdm_shim::launch_threads((grid), (block), [&] { kernel(__VA_ARGS__); })

// ---- the runtime API subset the core uses, over host memory -------------------------------------
typedef int cudaError_t;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorInvalidValue = 1;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
struct cudaDeviceProp {
  char name[256];
  int major, minor, multiProcessorCount;
  size_t totalGlobalMem;
};
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "cpu shim (host threads; no GPU)");
  p->multiProcessorCount = 1;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::calloc(bytes > 0 ? bytes : 1, 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes > 0) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int v, size_t bytes) { std::memset(p, v, bytes); return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : e == cudaErrorInvalidValue ? "invalid argument" : "out of host memory"; }
