// N-API layer of the cuda backend: unpacks numbers, device pointers (passed as JS numbers: x86-64
// and aarch64 user addresses fit in 48 bits, exact in a double) and host typed arrays, calls the C
// core (core.h), and turns a non-zero return into a JS error naming the call and the CUDA error.
// Lengths of device buffers are checked on the TypeScript side (src/engine/cuda/backend.ts),
// which owns them; host arrays are checked here.
#include <node_api.h>
#include <cmath>
#include <cstdint>
#include <string>
#include "core.h"

namespace {

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  bool failed = false;
};

void fail(Args& a, const std::string& msg) {
  if (!a.failed) napi_throw_error(a.env, "CBDM_CUDA", msg.c_str());
  a.failed = true;
}

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t want, const char* fn) {
  a.env = env;
  if (napi_get_cb_info(env, info, &a.argc, a.argv, nullptr, nullptr) != napi_ok) { fail(a, "napi_get_cb_info failed"); return false; }
  if (a.argc < want) { fail(a, std::string(fn) + ": expected " + std::to_string(want) + " arguments"); return false; }
  return true;
}

double num(Args& a, size_t i) {
  double v = 0;
  if (!a.failed && napi_get_value_double(a.env, a.argv[i], &v) != napi_ok) fail(a, "argument " + std::to_string(i) + " must be a number");
  return v;
}

int64_t integer(Args& a, size_t i) {
  const double v = num(a, i);
  if (a.failed) return 0;
  if (!(v >= 0 && v <= 9007199254740991.0) || v != std::floor(v)) { fail(a, "argument " + std::to_string(i) + " must be a non-negative integer"); return 0; }
  return static_cast<int64_t>(v);
}

bool flag(Args& a, size_t i) {
  bool v = false;
  if (!a.failed && napi_get_value_bool(a.env, a.argv[i], &v) != napi_ok) fail(a, "argument " + std::to_string(i) + " must be a boolean");
  return v;
}

// A device pointer (0 = null).
template <class T>
T* dev(Args& a, size_t i) { return reinterpret_cast<T*>(static_cast<uintptr_t>(integer(a, i))); }
float* f(Args& a, size_t i) { return dev<float>(a, i); }

// A host typed array's data and byte length.
void* host(Args& a, size_t i, size_t* bytes) {
  *bytes = 0;
  if (a.failed) return nullptr;
  bool is_ta = false;
  if (napi_is_typedarray(a.env, a.argv[i], &is_ta) != napi_ok || !is_ta) { fail(a, "argument " + std::to_string(i) + " must be a typed array"); return nullptr; }
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buf;
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &length, &data, &buf, &offset) != napi_ok) { fail(a, "napi_get_typedarray_info failed"); return nullptr; }
  size_t elem = 0;
  switch (type) {
    case napi_float32_array: case napi_int32_array: case napi_uint32_array: elem = 4; break;
    case napi_float64_array: elem = 8; break;
    case napi_uint8_array: elem = 1; break;
    default: fail(a, "argument " + std::to_string(i) + ": unsupported typed array"); return nullptr;
  }
  *bytes = length * elem;
  return data;
}

// int32 ids of a host Int32Array, at least `need` of them.
const int32_t* ids(Args& a, size_t i, int64_t need) {
  size_t bytes = 0;
  void* p = host(a, i, &bytes);
  if (!a.failed && static_cast<int64_t>(bytes / 4) < need) fail(a, "argument " + std::to_string(i) + ": too few ids");
  return static_cast<const int32_t*>(p);
}

napi_value undefined(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
napi_value number(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }

// Throw when the core returned an error; returns whether it did.
bool check(Args& a, int code, const char* fn) {
  if (a.failed) return true;
  if (code != 0) fail(a, std::string(fn) + ": " + cbdm_cuda_error_string(code) + " (code " + std::to_string(code) + ")");
  return code != 0;
}

#define FN(name) napi_value name(napi_env env, napi_callback_info info)
#define ARGS(n) Args a; if (!get_args(env, info, a, n, __func__)) return nullptr
#define DONE(call) do { if (a.failed) return nullptr; check(a, (call), __func__); return a.failed ? nullptr : undefined(env); } while (0)

void set(napi_env env, napi_value obj, const char* key, napi_value v) { napi_set_named_property(env, obj, key, v); }

// {count, code, message, shim, name?, major?, minor?, sms?, memBytes?}: never throws for a
// missing driver; that is what `code`/`message` report.
FN(probe) {
  (void)info;
  napi_value r;
  napi_create_object(env, &r);
  int count = 0;
  const int code = cbdm_cuda_device_count(&count);
  set(env, r, "code", number(env, code));
  set(env, r, "count", number(env, code == 0 ? count : 0));
  napi_value msg;
  napi_create_string_utf8(env, cbdm_cuda_error_string(code), NAPI_AUTO_LENGTH, &msg);
  set(env, r, "message", msg);
  napi_value shim;
  napi_get_boolean(env, cbdm_cuda_is_shim() != 0, &shim);
  set(env, r, "shim", shim);
  if (code == 0 && count > 0) {
    char name[256] = {0};
    int major = 0, minor = 0, sms = 0;
    size_t mem = 0;
    const int e = cbdm_cuda_device_info(0, name, sizeof name, &major, &minor, &sms, &mem);
    if (e == 0) {
      napi_value s;
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &s);
      set(env, r, "name", s);
      set(env, r, "major", number(env, major));
      set(env, r, "minor", number(env, minor));
      set(env, r, "sms", number(env, sms));
      set(env, r, "memBytes", number(env, static_cast<double>(mem)));
    } else {
      set(env, r, "code", number(env, e));
      napi_create_string_utf8(env, cbdm_cuda_error_string(e), NAPI_AUTO_LENGTH, &msg);
      set(env, r, "message", msg);
    }
  }
  return r;
}

FN(malloc_) {
  ARGS(1);
  const int64_t bytes = integer(a, 0);
  void* p = nullptr;
  if (a.failed || check(a, cbdm_cuda_malloc(&p, static_cast<size_t>(bytes)), "malloc")) return nullptr;
  return number(env, static_cast<double>(reinterpret_cast<uintptr_t>(p)));
}
FN(free_) { ARGS(1); DONE(cbdm_cuda_free(dev<void>(a, 0))); }
// upload(dst, hostArray, byteOffsetIntoDst)
FN(upload) {
  ARGS(3);
  size_t bytes = 0;
  void* src = host(a, 1, &bytes);
  char* dst = dev<char>(a, 0) + integer(a, 2);
  DONE(cbdm_cuda_upload(dst, src, bytes));
}
// download(hostArray, src): fills the whole host array.
FN(download) {
  ARGS(2);
  size_t bytes = 0;
  void* dst = host(a, 0, &bytes);
  DONE(cbdm_cuda_download(dst, dev<void>(a, 1), bytes));
}
FN(copy) { ARGS(3); DONE(cbdm_cuda_copy(dev<void>(a, 0), dev<void>(a, 1), static_cast<size_t>(integer(a, 2)))); }
FN(synchronize) { ARGS(0); DONE(cbdm_cuda_synchronize()); }

FN(ew) { ARGS(7); DONE(cbdm_cuda_ew(static_cast<int>(integer(a, 0)), f(a, 1), f(a, 2), f(a, 3), integer(a, 4), static_cast<float>(num(a, 5)), static_cast<float>(num(a, 6)))); }
FN(fill) { ARGS(3); DONE(cbdm_cuda_fill(f(a, 0), integer(a, 1), static_cast<float>(num(a, 2)))); }
FN(broadcast) { ARGS(7); DONE(cbdm_cuda_broadcast(static_cast<int>(integer(a, 0)), f(a, 1), f(a, 2), f(a, 3), integer(a, 4), integer(a, 5), integer(a, 6))); }
FN(dropout) {
  ARGS(6);
  DONE(cbdm_cuda_dropout(f(a, 0), f(a, 1), integer(a, 2), num(a, 3), static_cast<uint32_t>(integer(a, 4)), static_cast<uint32_t>(integer(a, 5))));
}
FN(upsampleNearest2xForward) { ARGS(5); DONE(cbdm_cuda_upsample_nearest2x_forward(f(a, 0), f(a, 1), integer(a, 2), integer(a, 3), integer(a, 4))); }
FN(upsampleNearest2xBackward) { ARGS(5); DONE(cbdm_cuda_upsample_nearest2x_backward(f(a, 0), f(a, 1), integer(a, 2), integer(a, 3), integer(a, 4))); }
// pool2dForward(max, x, y, P, H, W, k, stride, pad, Ho, Wo, cip); pool2dBackward(max, x|0, gy, gx, P, …, cip)
FN(pool2dForward) {
  ARGS(12);
  DONE(cbdm_cuda_pool2d_forward(flag(a, 0), f(a, 1), f(a, 2), integer(a, 3), integer(a, 4), integer(a, 5), integer(a, 6), integer(a, 7),
                                integer(a, 8), integer(a, 9), integer(a, 10), flag(a, 11)));
}
FN(pool2dBackward) {
  ARGS(13);
  DONE(cbdm_cuda_pool2d_backward(flag(a, 0), f(a, 1), f(a, 2), f(a, 3), integer(a, 4), integer(a, 5), integer(a, 6), integer(a, 7),
                                 integer(a, 8), integer(a, 9), integer(a, 10), integer(a, 11), flag(a, 12)));
}
FN(copyBlocks) { ARGS(6); DONE(cbdm_cuda_copy_blocks(f(a, 0), integer(a, 1), f(a, 2), integer(a, 3), integer(a, 4), integer(a, 5))); }
FN(reduce) {
  ARGS(6);
  double r = 0;
  const int op = static_cast<int>(integer(a, 0));
  const int64_t N = integer(a, 4), D = integer(a, 5);
  if (a.failed || check(a, cbdm_cuda_reduce(op, f(a, 1), f(a, 2), f(a, 3), N, D, &r), "reduce")) return nullptr;
  return number(env, r);
}
FN(groupNormForward) {
  ARGS(12);
  DONE(cbdm_cuda_group_norm_forward(f(a, 0), f(a, 1), f(a, 2), f(a, 3), f(a, 4), f(a, 5), integer(a, 6), integer(a, 7), integer(a, 8),
                                    integer(a, 9), static_cast<float>(num(a, 10)), flag(a, 11)));
}
FN(groupNormBackward) {
  ARGS(14);
  DONE(cbdm_cuda_group_norm_backward(f(a, 0), f(a, 1), f(a, 2), f(a, 3), f(a, 4), f(a, 5), f(a, 6), f(a, 7), f(a, 8), integer(a, 9),
                                     integer(a, 10), integer(a, 11), integer(a, 12), flag(a, 13)));
}
FN(softmaxForward) { ARGS(6); DONE(cbdm_cuda_softmax_forward(f(a, 0), f(a, 1), integer(a, 2), integer(a, 3), integer(a, 4), flag(a, 5))); }
FN(softmaxBackward) { ARGS(7); DONE(cbdm_cuda_softmax_backward(f(a, 0), f(a, 1), f(a, 2), integer(a, 3), integer(a, 4), integer(a, 5), flag(a, 6))); }
FN(crossEntropyBackward) {
  ARGS(6);
  const int64_t N = integer(a, 4);
  DONE(cbdm_cuda_cross_entropy_backward(f(a, 0), ids(a, 1, N), static_cast<float>(num(a, 2)), f(a, 3), N, integer(a, 5)));
}
// embeddingForward(w, ids, N, D, y); embeddingBackward(gy, ids, N, V, D, gw)
FN(embeddingForward) { ARGS(5); const int64_t N = integer(a, 2); DONE(cbdm_cuda_embedding_forward(f(a, 0), ids(a, 1, N), N, integer(a, 3), f(a, 4))); }
FN(embeddingBackward) {
  ARGS(6);
  const int64_t N = integer(a, 2);
  DONE(cbdm_cuda_embedding_backward(f(a, 0), ids(a, 1, N), N, integer(a, 3), integer(a, 4), f(a, 5)));
}
FN(adamStep) {
  ARGS(11);
  DONE(cbdm_cuda_adam(f(a, 0), f(a, 1), f(a, 2), f(a, 3), integer(a, 4), num(a, 5), num(a, 6), num(a, 7), num(a, 8), num(a, 9), num(a, 10)));
}
FN(emaUpdate) { ARGS(4); DONE(cbdm_cuda_ema(f(a, 0), f(a, 1), integer(a, 2), static_cast<float>(num(a, 3)))); }
// conv2dForward(x, w, b|0, y, N, Ci, H, W, Co, KH, KW, stride, pad, Ho, Wo) and the two backward
// passes with the same geometry tail (ConvGeom of src/engine/backend.ts).
#define GEOM(i) integer(a, i), integer(a, i + 1), integer(a, i + 2), integer(a, i + 3), integer(a, i + 4), integer(a, i + 5), \
  integer(a, i + 6), integer(a, i + 7), integer(a, i + 8), integer(a, i + 9), integer(a, i + 10)
FN(conv2dForward) { ARGS(15); DONE(cbdm_cuda_conv2d_forward(f(a, 0), f(a, 1), f(a, 2), f(a, 3), GEOM(4))); }
FN(conv2dBackwardData) { ARGS(14); DONE(cbdm_cuda_conv2d_backward_data(f(a, 0), f(a, 1), f(a, 2), GEOM(3))); }
FN(conv2dBackwardWeight) { ARGS(15); DONE(cbdm_cuda_conv2d_backward_weight(f(a, 0), f(a, 1), f(a, 2), f(a, 3), GEOM(4))); }
// gemm(transA, transB, M, N, K, alpha, A, sA, B, sB, beta, C, sC, batch)
FN(gemm) {
  ARGS(14);
  DONE(cbdm_cuda_gemm(flag(a, 0), flag(a, 1), integer(a, 2), integer(a, 3), integer(a, 4), static_cast<float>(num(a, 5)), f(a, 6),
                      integer(a, 7), f(a, 8), integer(a, 9), static_cast<float>(num(a, 10)), f(a, 11), integer(a, 12), integer(a, 13)));
}
// loadCublas(path) → "" on success, else why not.
FN(loadCublas) {
  ARGS(1);
  char path[4096] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, a.argv[0], path, sizeof path, &len) != napi_ok) { fail(a, "loadCublas: path must be a string"); return nullptr; }
  char message[1024] = {0};
  const int e = cbdm_cuda_load_cublas(path, message, sizeof message);
  napi_value r;
  napi_create_string_utf8(env, e == 0 ? "" : message, NAPI_AUTO_LENGTH, &r);
  return r;
}
FN(setGemmTf32) { ARGS(1); DONE(cbdm_cuda_set_gemm_tf32(flag(a, 0))); }
FN(gemmLibrary) {
  (void)info;
  napi_value r;
  napi_create_string_utf8(env, cbdm_cuda_gemm_library(), NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value init(napi_env env, napi_value exports) {
  const struct { const char* name; napi_callback fn; } fns[] = {
    {"probe", probe}, {"malloc", malloc_}, {"free", free_}, {"upload", upload}, {"download", download}, {"copy", copy},
    {"synchronize", synchronize}, {"ew", ew}, {"fill", fill}, {"broadcast", broadcast}, {"copyBlocks", copyBlocks}, {"pool2dForward", pool2dForward}, {"pool2dBackward", pool2dBackward},
    {"dropout", dropout}, {"upsampleNearest2xForward", upsampleNearest2xForward}, {"upsampleNearest2xBackward", upsampleNearest2xBackward},
    {"reduce", reduce}, {"groupNormForward", groupNormForward}, {"groupNormBackward", groupNormBackward},
    {"softmaxForward", softmaxForward}, {"softmaxBackward", softmaxBackward}, {"crossEntropyBackward", crossEntropyBackward},
    {"embeddingForward", embeddingForward}, {"embeddingBackward", embeddingBackward}, {"adamStep", adamStep},
    {"emaUpdate", emaUpdate}, {"gemm", gemm}, {"conv2dForward", conv2dForward},
    {"conv2dBackwardData", conv2dBackwardData}, {"conv2dBackwardWeight", conv2dBackwardWeight}, {"loadCublas", loadCublas}, {"gemmLibrary", gemmLibrary}, {"setGemmTf32", setGemmTf32},
  };
  for (const auto& e : fns) {
    napi_value fn;
    if (napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, nullptr, &fn) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, e.name, fn) != napi_ok) return nullptr;
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
