// N-API glue of the native cpu backend: unpacks typed arrays (zero-copy; napi hands back the data
// pointer already advanced by the view's byte offset) and numbers, checks every status and every
// buffer length against the shapes, and calls the C++ kernels, which know nothing about JS.
#include <node_api.h>
#include <cstdint>
#include <cstring>
#include <cmath>
#include <string>
#include <initializer_list>
#include "common.h"
#include "gemm.h"
#include "conv.h"
#include "attention.h"
#include "kernels.h"

using namespace cbdm;

namespace {

struct Args {
  napi_env env;
  size_t argc = 24;
  napi_value argv[24];
  bool failed = false;
};

void fail(Args& a, const std::string& msg) {
  if (!a.failed) napi_throw_error(a.env, "CBDM_NATIVE", msg.c_str());
  a.failed = true;
}

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t want) {
  a.env = env;
  if (napi_get_cb_info(env, info, &a.argc, a.argv, nullptr, nullptr) != napi_ok) {
    fail(a, "napi_get_cb_info failed");
    return false;
  }
  if (a.argc < want) {
    fail(a, "expected " + std::to_string(want) + " arguments, got " + std::to_string(a.argc));
    return false;
  }
  return true;
}

double num(Args& a, size_t i) {
  double v = 0;
  if (a.failed) return 0;
  if (napi_get_value_double(a.env, a.argv[i], &v) != napi_ok) fail(a, "argument " + std::to_string(i) + " must be a number");
  return v;
}

int64_t integer(Args& a, size_t i) {
  double v = num(a, i);
  if (a.failed) return 0;
  if (!(v >= 0 && v <= 9007199254740991.0) || v != std::floor(v)) {
    fail(a, "argument " + std::to_string(i) + " must be a non-negative integer");
    return 0;
  }
  return static_cast<int64_t>(v);
}

bool flag(Args& a, size_t i) {
  bool v = false;
  if (a.failed) return false;
  if (napi_get_value_bool(a.env, a.argv[i], &v) != napi_ok) fail(a, "argument " + std::to_string(i) + " must be a boolean");
  return v;
}

// A Float32Array argument holding at least `need` elements (null allowed when `nullable`).
float* f32(Args& a, size_t i, int64_t need, bool nullable = false) {
  if (a.failed) return nullptr;
  napi_valuetype t;
  if (napi_typeof(a.env, a.argv[i], &t) != napi_ok) { fail(a, "napi_typeof failed"); return nullptr; }
  if (nullable && (t == napi_null || t == napi_undefined)) return nullptr;
  bool is_ta = false;
  if (napi_is_typedarray(a.env, a.argv[i], &is_ta) != napi_ok || !is_ta) {
    fail(a, "argument " + std::to_string(i) + " must be a Float32Array");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &length, &data, nullptr, nullptr) != napi_ok) {
    fail(a, "napi_get_typedarray_info failed");
    return nullptr;
  }
  if (type != napi_float32_array) { fail(a, "argument " + std::to_string(i) + " must be a Float32Array"); return nullptr; }
  if (static_cast<int64_t>(length) < need) {
    fail(a, "argument " + std::to_string(i) + " holds " + std::to_string(length) + " floats, the shapes need " + std::to_string(need));
    return nullptr;
  }
  return static_cast<float*>(data);
}

int64_t length_of(Args& a, size_t i) {
  if (a.failed) return 0;
  napi_typedarray_type type;
  size_t length = 0;
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &length, nullptr, nullptr, nullptr) != napi_ok) {
    fail(a, "argument " + std::to_string(i) + " must be a Float32Array");
    return 0;
  }
  return static_cast<int64_t>(length);
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value number(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return undefined(env);
  return r;
}

void check_ok(Args& a, bool ok, const char* what) {
  if (!ok) fail(a, std::string(what) + ": out of memory");
}

// ---- runtime ------------------------------------------------------------------------------
// Whether convolutions compute in bf16 now: asked for (setPrecision) and the CPU and ISA can.
bool bf16_capable() { return current_isa() == Isa::avx512 && __builtin_cpu_supports("avx512bf16"); }

napi_value Info(napi_env env, napi_callback_info info) {
  napi_value o, isa, best, th, bf, prec, ck;
  if (napi_create_object(env, &o) != napi_ok) return undefined(env);
  __builtin_cpu_init();
  if (napi_create_string_utf8(env, isa_name(current_isa()), NAPI_AUTO_LENGTH, &isa) != napi_ok ||
      napi_create_string_utf8(env, isa_name(detect_isa()), NAPI_AUTO_LENGTH, &best) != napi_ok ||
      napi_create_int32(env, threads(), &th) != napi_ok ||
      napi_set_named_property(env, o, "isa", isa) != napi_ok ||
      napi_set_named_property(env, o, "bestIsa", best) != napi_ok ||
      napi_set_named_property(env, o, "threads", th) != napi_ok ||
      napi_get_boolean(env, bf16_capable(), &bf) != napi_ok ||
      napi_set_named_property(env, o, "bf16", bf) != napi_ok ||
      napi_create_string_utf8(env, precision_bf16() && bf16_capable() ? "bf16" : "fp32", NAPI_AUTO_LENGTH, &prec) != napi_ok ||
      napi_set_named_property(env, o, "precision", prec) != napi_ok ||
      napi_create_string_utf8(env, conv_gemm_only() ? "gemm" : "auto", NAPI_AUTO_LENGTH, &ck) != napi_ok ||
      napi_set_named_property(env, o, "convKernels", ck) != napi_ok) {
    napi_throw_error(env, "CBDM_NATIVE", "info: could not build the result object");
    return undefined(env);
  }
  return o;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return undefined(env);
  int64_t n = integer(a, 0);
  if (a.failed) return undefined(env);
  set_threads(static_cast<int>(n < 1 ? 1 : (n > 1024 ? 1024 : n)));
  return number(env, threads());
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return undefined(env);
  char buf[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, a.argv[0], buf, sizeof buf, &len) != napi_ok) {
    fail(a, "setIsa: expected a string");
    return undefined(env);
  }
  Isa want;
  if (std::strcmp(buf, "avx512") == 0) want = Isa::avx512;
  else if (std::strcmp(buf, "avx2") == 0) want = Isa::avx2;
  else if (std::strcmp(buf, "scalar") == 0) want = Isa::scalar;
  else { fail(a, std::string("setIsa: unknown ISA '") + buf + "' (avx512, avx2 or scalar)"); return undefined(env); }
  napi_value r;
  if (napi_create_string_utf8(env, isa_name(set_isa(want)), NAPI_AUTO_LENGTH, &r) != napi_ok) return undefined(env);
  return r;
}

// One of `choices` (a string argument), or -1 after throwing a message naming them.
int choice(Args& a, size_t i, const char* what, std::initializer_list<const char*> choices) {
  char buf[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(a.env, a.argv[i], buf, sizeof buf, &len) != napi_ok) {
    fail(a, std::string(what) + ": expected a string");
    return -1;
  }
  int k = 0;
  std::string names;
  for (const char* c : choices) {
    if (std::strcmp(buf, c) == 0) return k;
    names += (k++ ? ", " : "") + std::string(c);
  }
  fail(a, std::string(what) + ": unknown value '" + buf + "' (" + names + ")");
  return -1;
}

// setPrecision('fp32' | 'bf16'): the precision convolutions compute in (bf16 only where the CPU
// can; info().precision says what is in effect).
napi_value SetPrecision(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return undefined(env);
  const int k = choice(a, 0, "setPrecision", {"fp32", "bf16"});
  if (k < 0) return undefined(env);
  set_precision_bf16(k == 1);
  return undefined(env);
}

// setConvKernels('auto' | 'gemm'): 'gemm' sends every convolution to the fp32 im2col gemm.
napi_value SetConvKernels(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return undefined(env);
  const int k = choice(a, 0, "setConvKernels", {"auto", "gemm"});
  if (k < 0) return undefined(env);
  set_conv_gemm_only(k == 1);
  return undefined(env);
}

// setGemmBlock(mc, kc, nc): the gemm's cache blocking; 0, 0, 0 = each microkernel's own.
napi_value SetGemmBlock(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 3)) return undefined(env);
  const int64_t mc = integer(a, 0), kc = integer(a, 1), nc = integer(a, 2);
  if (a.failed) return undefined(env);
  set_gemm_block({int(mc), int(kc), int(nc)});
  return undefined(env);
}

// ---- gemm ---------------------------------------------------------------------------------
// gemm(transA, transB, M, N, K, alpha, A, B, beta, C)
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return undefined(env);
  bool tA = flag(a, 0), tB = flag(a, 1);
  int64_t M = integer(a, 2), N = integer(a, 3), K = integer(a, 4);
  float alpha = static_cast<float>(num(a, 5));
  const float* A = f32(a, 6, M * K);
  const float* B = f32(a, 7, K * N);
  float beta = static_cast<float>(num(a, 8));
  float* C = f32(a, 9, M * N);
  if (a.failed) return undefined(env);
  check_ok(a, sgemm(tA, tB, int(M), int(N), int(K), alpha, A, tA ? M : K, B, tB ? K : N, beta, C, N, threads()), "gemm");
  return undefined(env);
}

#include "addon_kernels.inc"

}  // namespace

#define EXPORT(name, fn) {name, nullptr, fn, nullptr, nullptr, nullptr, napi_default, nullptr}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    EXPORT("info", Info),
    EXPORT("setThreads", SetThreads),
    EXPORT("setIsa", SetIsa),
    EXPORT("setPrecision", SetPrecision),
    EXPORT("setConvKernels", SetConvKernels),
    EXPORT("setGemmBlock", SetGemmBlock),
    EXPORT("gemm", Gemm),
    ADDON_KERNEL_EXPORTS
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    napi_throw_error(env, "CBDM_NATIVE", "could not define the addon's exports");
  }
  return exports;
}
