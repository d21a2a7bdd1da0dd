#!/usr/bin/env python3
"""Peer for `cbdm bench gemm`: NumPy/OpenBLAS sgemm timings.

Usage: python3 bench/peers/gemm.py '{"sizes": [256, 1024], "threads": 2, "reps": 5, "clock": "wall"}'
Prints one JSON object: {"peer": "numpy <v> (<blas>)", "results": {"256": median_seconds, ...}}.
clock "cpu": process CPU seconds (all threads) instead of elapsed seconds.
Set the BLAS thread count before NumPy loads (OPENBLAS_NUM_THREADS etc. are read at import).
"""
import json
import os
import sys
import time

spec = json.loads(sys.argv[1])
threads = str(spec.get("threads", 2))
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = threads

import numpy as np  # noqa: E402  (after the thread variables)

blas = "blas"
try:
    cfg = np.show_config(mode="dicts")
    blas = cfg["Build Dependencies"]["blas"]["name"] + " " + str(cfg["Build Dependencies"]["blas"].get("version", ""))
except Exception:  # older NumPy has no dict mode; the name is only informative
    pass

clock = time.process_time if spec.get("clock") == "cpu" else time.perf_counter

results = {}
rng = np.random.default_rng(0)
for s in spec["sizes"]:
    a = rng.standard_normal((s, s), dtype=np.float32)
    b = rng.standard_normal((s, s), dtype=np.float32)
    c = np.empty((s, s), dtype=np.float32)
    np.matmul(a, b, out=c)
    reps = spec.get("reps", 5)
    inner = max(1, int(2e8 // (2 * s ** 3)))  # at least ~0.1 s of work per sample on small sizes
    ts = []
    for _ in range(reps):
        t = clock()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        ts.append((clock() - t) / inner)
    ts.sort()
    results[str(s)] = ts[len(ts) // 2]

print(json.dumps({"peer": f"numpy {np.__version__} ({blas.strip()})", "results": results}))
