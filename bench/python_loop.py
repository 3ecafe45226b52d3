#!/usr/bin/env python3
"""The plain Python PyTorch loop the C++ trainer is compared with (the torch wheel in .venv/, the same version as the LibTorch).

  python3 bench/python_loop.py MODEL STEPS [BATCH]    (MODEL: mlp | cnn; BATCH: 64)

DataLoader over a TensorDataset (shuffled), torch.optim.AdamW lr 1e-3, gradient clipping at
1.0 and a linear schedule, the same models as the C++ built-ins. Prints one JSON line like
train_throughput: steps per second after a 50-step warm-up, and peak resident memory.
"""
import gzip
import json
import resource
import sys
import time

import numpy as np
import torch

DIR = "/usr/share/datasets/fashion-mnist"
WARMUP = 50


def load(prefix):
    with gzip.open(f"{DIR}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f"{DIR}/{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(784, 256), torch.nn.Linear(256, 128), torch.nn.Linear(128, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = torch.nn.Conv2d(1, 32, 3), torch.nn.Conv2d(32, 64, 3)
        self.fc1, self.fc2 = torch.nn.Linear(64 * 5 * 5, 128), torch.nn.Linear(128, 10)

    def forward(self, x):
        h = x.reshape(x.shape[0], 1, 28, 28)
        h = torch.max_pool2d(torch.relu(self.conv1(h)), 2)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
        return self.fc2(torch.relu(self.fc1(h.flatten(1))))


def main():
    model_name, steps = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    torch.manual_seed(42)
    x, y = load("train")
    model = Mlp() if model_name == "mlp" else Cnn()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, (steps - k) / steps))
    step, loss_sum, warm = 0, torch.zeros(()), None
    model.train()
    while step < steps:
        for xb, yb in loader:
            if step == WARMUP:
                warm = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            step += 1
            if step == steps:
                break
    sps = (steps - WARMUP) / (time.perf_counter() - warm)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"mode": "python", "model": model_name, "steps_per_second": round(sps, 2), "peak_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()
