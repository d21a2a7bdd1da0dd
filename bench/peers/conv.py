#!/usr/bin/env python3
"""Peer for `cbdm bench conv`: PyTorch CPU conv2d forward and forward+backward timings.

Usage: /usr/bin/python3 bench/peers/conv.py '{"threads": 2, "reps": 5, "cases": [
          {"name": "...", "N": 8, "Ci": 128, "H": 32, "Co": 128, "k": 3, "stride": 1, "pad": 1}]}'
Prints {"peer": "torch <v>", "results": {"<name>": {"fwd": s, "fwdbwd": s}}} (median seconds;
"clock": "cpu" measures process CPU seconds (all threads)).
Forward+backward = y = conv2d(x, w, b); y.backward(gy) with x, w, b requiring grad, as in training.
If torch is missing, prints {"peer": null, "error": "..."} and exits 0.
"""
import json
import sys
import time

spec = json.loads(sys.argv[1])
try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"peer": None, "error": f"PyTorch not importable ({e}); install it with: apt-get install python3-torch"}))
    sys.exit(0)

nthreads = int(spec.get("threads", 2))
torch.set_num_threads(nthreads)
torch.manual_seed(0)
clock = time.process_time if spec.get("clock") == "cpu" else time.perf_counter


def median(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = clock()
        f()
        ts.append(clock() - t)
    ts.sort()
    return ts[len(ts) // 2]


results = {}
for c in spec["cases"]:
    x = torch.randn(c["N"], c["Ci"], c["H"], c["H"], requires_grad=True)
    w = (torch.randn(c["Co"], c["Ci"], c["k"], c["k"]) / (c["Ci"] * c["k"] ** 2) ** 0.5).requires_grad_()
    b = torch.zeros(c["Co"], requires_grad=True)
    y = F.conv2d(x, w, b, stride=c["stride"], padding=c["pad"])
    gy = torch.randn_like(y)

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, b, stride=c["stride"], padding=c["pad"])

    def fwdbwd():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, stride=c["stride"], padding=c["pad"]).backward(gy)

    results[c["name"]] = {"fwd": median(fwd, spec.get("reps", 5)), "fwdbwd": median(fwdbwd, spec.get("reps", 5))}

print(json.dumps({"peer": f"torch {torch.__version__} (CPU, mkldnn={torch.backends.mkldnn.is_available()})", "results": results}))
