#!/usr/bin/env python3
"""The Python side of the safetensors interop test (tests/torch/interop_test.cpp).

Reads and writes safetensors with a reader and writer of its own (format: 8-byte little-endian
header length, JSON header, raw little-endian data), independent of the C++ code, and checks the
weights in a torch.nn model of the built-in MLP's architecture.

  safetensors_interop.py read WEIGHTS LOGITS_OUT    load C++-written weights, save the model's logits
  safetensors_interop.py write WEIGHTS_OUT LOGITS_OUT  save a Python model's weights and its logits
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header.pop("__metadata__", {}).get("format") == "pt", "metadata format must be pt"
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[info["dtype"]]) if end > begin else torch.empty(0)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().cpu().numpy().tobytes()
        dtype = {v: k for k, v in DTYPES.items()}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 256)
        self.fc2 = torch.nn.Linear(256, 128)
        self.fc3 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def fixed_input():
    return torch.linspace(-1, 1, 4 * 784, dtype=torch.float32).reshape(4, 784)


def main():
    mode, weights, logits_out = sys.argv[1:4]
    model = Mlp()
    if mode == "read":
        model.load_state_dict(read_safetensors(weights), strict=True)
    else:
        torch.manual_seed(123)
        model = Mlp()
        write_safetensors(weights, model.state_dict())
    with torch.no_grad():
        write_safetensors(logits_out, {"logits": model(fixed_input())})


if __name__ == "__main__":
    main()
