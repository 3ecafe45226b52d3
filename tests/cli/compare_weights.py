"""compare_weights.py A B [TOLERANCE]: the largest difference between two model.safetensors files,
tensor by tensor (same names and shapes required). Exits 1 when it is above TOLERANCE (default 0:
bit for bit)."""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def tensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype=DTYPES[info["dtype"]])
        out[name] = data.reshape(info["shape"])
    return out


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
if sorted(a) != sorted(b):
    sys.exit(f"different tensors: {sorted(a)} vs {sorted(b)}")
worst = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a)
print(f"largest difference {worst:.3g} (tolerance {tolerance:g})")
sys.exit(0 if worst <= tolerance else 1)
