#!/usr/bin/env python3
"""The same job through the Hugging Face Trainer (transformers from .venv/, on the same torch as the
LibTorch): what users of the original would otherwise run.

  python3 bench/hf_trainer_peer.py MODEL STEPS [BATCH]    (MODEL: mlp | cnn; BATCH: 64)

Fashion-MNIST, the models of bench/python_loop.py returning their loss, the Trainer's defaults
(fused AdamW, clipping at 1.0, linear schedule) at lr 1e-3, no saving, evaluation or tracker. Prints
one JSON line like train_throughput: steps per second after a 50-step warm-up, and peak resident memory.
"""
import json
import os
import resource
import sys
import tempfile
import time

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracle"))
import python_loop  # noqa: E402  (the data and the models)
from hf_recorder import Examples  # noqa: E402  (examples as the Trainer's collator takes them)

WARMUP = python_loop.WARMUP


class WithLoss(torch.nn.Module):
    """The Trainer asks the model for its loss."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x, labels=None):
        logits = self.inner(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


class Clock(TrainerCallback):
    """The time of the step after the warm-up and of the last one."""

    def __init__(self):
        self.warm = self.end = None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == WARMUP:
            self.warm = time.perf_counter()
        self.end = time.perf_counter()


def main():
    model_name, steps = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    torch.manual_seed(42)
    x, y = python_loop.load("train")
    model = WithLoss(python_loop.Mlp() if model_name == "mlp" else python_loop.Cnn())
    clock = Clock()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=1e-3,
                                 save_strategy="no", logging_steps=500, report_to="none", disable_tqdm=True,
                                 use_cpu=not torch.cuda.is_available())
        Trainer(model=model, args=args, train_dataset=Examples(x, y), callbacks=[clock]).train()
    sps = (steps - WARMUP) / (clock.end - clock.warm)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"mode": "hf_trainer", "model": model_name, "steps_per_second": round(sps, 2),
                      "peak_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()
