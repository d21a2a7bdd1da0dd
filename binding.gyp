{
  "targets": [
    {
      "target_name": "cbdm_avx512",
      "type": "static_library",
      "sources": ["native/gemm_avx512.cpp", "native/kernels_avx512.cpp", "native/conv_avx512.cpp"],
      "cflags": ["-O3", "-fPIC", "-fopenmp", "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mfma"],
      "cflags_cc": ["-std=gnu++17"]
    },
    {
      "target_name": "cbdm_avx2",
      "type": "static_library",
      "sources": ["native/gemm_avx2.cpp", "native/kernels_avx2.cpp", "native/conv_avx2.cpp"],
      "cflags": ["-O3", "-fPIC", "-fopenmp", "-mavx2", "-mfma"],
      "cflags_cc": ["-std=gnu++17"]
    },
    {
      "target_name": "cbdm_native",
      "dependencies": ["cbdm_avx512", "cbdm_avx2"],
      "sources": [
        "native/addon.cpp",
        "native/runtime.cpp",
        "native/gemm.cpp",
        "native/gemm_scalar.cpp",
        "native/kernels_scalar.cpp",
        "native/conv.cpp",
        "native/conv_scalar.cpp",
        "native/attention.cpp"
      ],
      "cflags": ["-O3", "-fopenmp"],
      "cflags_cc": ["-std=gnu++17"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-lgomp"]
    }
  ]
}
