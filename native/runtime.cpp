// ISA detection/selection and the thread count.
#include "common.h"
#include <omp.h>
#include <atomic>

namespace cbdm {

static std::atomic<int> g_isa{-1};
static std::atomic<int> g_threads{0};

Isa detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::scalar;
}

Isa current_isa() {
  int v = g_isa.load();
  if (v < 0) {
    v = static_cast<int>(detect_isa());
    g_isa.store(v);
  }
  return static_cast<Isa>(v);
}

Isa set_isa(Isa want) {
  Isa best = detect_isa();
  Isa use = static_cast<int>(want) > static_cast<int>(best) ? best : want;
  g_isa.store(static_cast<int>(use));
  return use;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::scalar: return "scalar";
  }
  return "scalar";
}

int threads() {
  int t = g_threads.load();
  if (t <= 0) {
    t = omp_get_num_procs();
    if (t < 1) t = 1;
    g_threads.store(t);
  }
  return t;
}

void set_threads(int n) { g_threads.store(n < 1 ? 1 : n); }

static std::atomic<bool> g_bf16{false};
static std::atomic<bool> g_gemm_only{false};
static std::atomic<int> g_block_mc{0}, g_block_kc{0}, g_block_nc{0};

bool precision_bf16() { return g_bf16.load(std::memory_order_relaxed); }
void set_precision_bf16(bool on) { g_bf16.store(on); }
bool conv_gemm_only() { return g_gemm_only.load(std::memory_order_relaxed); }
void set_conv_gemm_only(bool on) { g_gemm_only.store(on); }
GemmBlock gemm_block() { return {g_block_mc.load(), g_block_kc.load(), g_block_nc.load()}; }
void set_gemm_block(GemmBlock b) {
  const bool ok = b.mc > 0 && b.kc > 0 && b.nc > 0;
  g_block_mc.store(ok ? b.mc : 0);
  g_block_kc.store(ok ? b.kc : 0);
  g_block_nc.store(ok ? b.nc : 0);
}

GemmKernel gemm_kernel(Isa isa) {
  switch (isa) {
    case Isa::avx512: return gemm_kernel_avx512();
    case Isa::avx2: return gemm_kernel_avx2();
    case Isa::scalar: return gemm_kernel_scalar();
  }
  return gemm_kernel_scalar();
}

}  // namespace cbdm

#include "kernels.h"

namespace cbdm {

const Kernels& kernels() {
  // Each table is built only once its ISA is selected: the builder itself is compiled for that
  // ISA and may use its instructions.
  switch (current_isa()) {
    case Isa::avx512: { static const Kernels t = avx512::table(); return t; }
    case Isa::avx2: { static const Kernels t = avx2::table(); return t; }
    case Isa::scalar: break;
  }
  static const Kernels t = scalar::table();
  return t;
}

}  // namespace cbdm
