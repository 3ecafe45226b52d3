"""PyTorch's own Gloo all-reduce, the baseline for bench/ddp_overlap's: 6 numbers (the control
flags) and the CNN's 0.9 MiB of gradients. Run under torchrun with 2 processes; rank 0 prints one
JSON line, the median over 5 rounds of 40 calls."""
import json
import statistics
import time

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
out = {}
for name, tensor in (("flags_ms", torch.zeros(6, dtype=torch.double)), ("gradients_ms", torch.zeros(227_000))):
    for _ in range(5):
        dist.all_reduce(tensor)
    rounds = []
    for _ in range(5):
        dist.barrier()
        start = time.perf_counter()
        for _ in range(40):
            dist.all_reduce(tensor)
        rounds.append((time.perf_counter() - start) / 40 * 1e3)
    out[name] = round(statistics.median(rounds), 3)
if dist.get_rank() == 0:
    print(json.dumps(out))
dist.destroy_process_group()
