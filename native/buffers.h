// A growable, 64-byte-aligned float scratch buffer (one per thread where it is `thread_local`):
// the allocation idiom every native kernel with scratch space shares. Included inside the
// including file's (anonymous) namespace, so each ISA build and each file keeps its own copy —
// no inline function is shared across translation units compiled with different -m flags.
#pragma once

// n floats, 64-byte aligned (the size rounded up as aligned_alloc requires); null if out of memory.
inline float* aligned_floats(size_t n) {
  return static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
}

struct Buf {
  float* p = nullptr;
  size_t n = 0;
  ~Buf() { std::free(p); }
  float* get(size_t need) {
    if (n >= need) return p;
    std::free(p);
    p = aligned_floats(need);
    n = p ? need : 0;
    return p;
  }
};
