"""Makes reference/torch-reductions.json: torch's float32 sum and vector norm of vectors of many lengths, as the
exact float32 bits, for the Java emulation of torch's order of additions (org.mergelab.merge.TorchReductions).
"strided" holds the same along the first axis of r x m matrices (x.t().sum(-1) and torch.norm(x.t(), dim=-1), as
nuslerp's row-wise mode takes them): one value per output, for output counts on both sides of torch's groups of 32.

The vectors are generated identically in Java and here from an integer hash (SplitMix64), each value an exact
float32: x[i] = ((mix(seed + i) >>> 40) - 2^23) / 2^24, so no file of inputs is needed. torch runs on one thread
(torch.set_num_threads(1)): MergeLab reproduces torch's single-thread order.

Run from the repository root:
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /work/venv-ref/bin/python \\
        toolkit/src/test/python/make_torch_reduction_reference.py
"""
import json
import struct
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "resources/reference/torch-reductions.json"
MASK = (1 << 64) - 1


def mix(z):
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & MASK
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & MASK
    return z ^ (z >> 31)


def vector(seed, n):
    # vectorised SplitMix64 finaliser over uint64
    z = (np.arange(n, dtype=np.uint64) + np.uint64(seed))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.int64) - (1 << 23)
    return torch.from_numpy((top.astype(np.float64) / (1 << 24)).astype(np.float32))


def bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


torch.set_num_threads(1)
assert abs(float(vector(7, 1)[0]) - ((mix(7) >> 40) - (1 << 23)) / (1 << 24)) == 0
sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1023, 1024,
         1025, 4095, 4096, 4097, 10000, 32767, 32768, 32769, 65536, 100003, 262144, 1 << 20, (1 << 20) + 37,
         3 * (1 << 20) + 5]
cases = []
for k, n in enumerate(sizes):
    seed = 1000 + k
    x = vector(seed, n)
    cases.append({"seed": seed, "n": n, "sum": bits(x.sum()), "norm": bits(torch.linalg.vector_norm(x)),
                  "abs_sum": bits(x.abs().sum())})
strided = []
for k, (r, m) in enumerate((r, m) for m in (1, 4, 8, 16, 31, 32, 33, 40, 64, 65, 100)
                           for r in (1, 3, 16, 17, 32, 64, 100, 1000, 4097)):
    seed = 5000 + k
    x = vector(seed, r * m).reshape(r, m)
    strided.append({"seed": seed, "r": r, "m": m, "sum": [bits(v) for v in x.t().sum(dim=-1)],
                    "norm": [bits(v) for v in torch.norm(x.t(), dim=-1)]})
OUT.write_text(json.dumps({"made_by": "toolkit/src/test/python/make_torch_reduction_reference.py",
                           "torch": torch.__version__, "threads": 1, "cases": cases, "strided": strided},
                          indent=1) + "\n")
print("wrote", OUT, len(cases), "cases")
