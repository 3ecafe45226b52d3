#!/usr/bin/env python3
"""Golden values for the C++ tests, computed with the torch of .venv/ (the same version as the
LibTorch the library links). The build runs it (tests/CMakeLists.txt) into build/tests/golden/:

  .venv/bin/python tests/golden/make_golden.py [OUTPUT_DIR]

Writes lr_schedules.json (every lr_scheduler_type stepped through torch's own LambdaLR and
ReduceLROnPlateau), optimizers.json (100 steps of torch.optim.AdamW, Adam and SGD in several
configurations) and trainer_state_python.json (a trainer_state.json written the way the
original writes it: json.dumps(asdict(state), indent=2, sort_keys=True) + "\n").
The schedule formulas below are written from the original's documented formulas, independently of
the C++ code; torch supplies the stepping semantics.
"""
import json
import math
import os
import sys

import torch

HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def warm(k, w):
    return k / max(1, w)


def linear(w, t, **_):
    return lambda k: warm(k, w) if k < w else max(0.0, (t - k) / max(1, t - w))


def cosine(w, t, num_cycles=0.5, **_):
    def f(k):
        if k < w:
            return warm(k, w)
        p = (k - w) / max(1, t - w)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * p)))
    return f


def cosine_with_restarts(w, t, num_cycles=1, **_):
    def f(k):
        if k < w:
            return warm(k, w)
        p = (k - w) / max(1, t - w)
        if p >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * p) % 1.0))))
    return f


def polynomial(w, t, lr_init, lr_end=1e-7, power=1.0, **_):
    def f(k):
        if k < w:
            return warm(k, w)
        if k > t:
            return lr_end / lr_init
        decay = (lr_init - lr_end) * (1 - (k - w) / (t - w)) ** power + lr_end
        return decay / lr_init
    return f


def constant(w, t, **_):
    return lambda k: 1.0


def constant_with_warmup(w, t, **_):
    return lambda k: warm(k, w) if k < w else 1.0


def inverse_sqrt(w, t, timescale=None, **_):
    tau = timescale if timescale is not None else (w or 10000)
    return lambda k: warm(k, w) if k < w else 1.0 / math.sqrt((k + tau - w) / tau)


def cosine_with_min_lr(w, t, lr_init, num_cycles=0.5, min_lr=None, min_lr_rate=None, **_):
    r = min_lr / lr_init if min_lr is not None else min_lr_rate
    def f(k):
        if k < w:
            return warm(k, w)
        p = (k - w) / max(1, t - w)
        c = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * p))
        return max(0.0, c * (1 - r) + r)
    return f


def cosine_warmup_with_min_lr(w, t, lr_init, num_cycles=0.5, min_lr=None, min_lr_rate=None, warmup_lr_rate=None, **_):
    r = min_lr / lr_init if min_lr is not None else min_lr_rate
    def f(k):
        if k < w:
            if warmup_lr_rate is None:
                return (k + 1) / max(1, w)
            return warmup_lr_rate + (1.0 - warmup_lr_rate) * k / max(1, w - 1)
        p = (k - w + 1) / max(1, t - w)
        c = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * p))
        return max(0.0, c * (1 - r) + r)
    return f


def warmup_stable_decay(w, t, num_decay_steps, num_stable_steps=None, warmup_type="linear", decay_type="cosine",
                        min_lr_ratio=0.0, num_cycles=0.5, **_):
    d = num_decay_steps
    s = num_stable_steps if num_stable_steps is not None else t - w - d
    def f(k):
        if k < w:
            q = k / max(1, w)
            v = {"linear": q, "cosine": 0.5 * (1.0 - math.cos(math.pi * q)), "1-sqrt": 1.0 - math.sqrt(1.0 - q)}[warmup_type]
            return max(0.0, v * (1.0 - min_lr_ratio) + min_lr_ratio)
        if k < w + s:
            return 1.0
        if k < w + s + d:
            q = (k - w - s) / max(1, d)
            v = {"linear": 1.0 - q, "cosine": 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * q)),
                 "1-sqrt": 1.0 - math.sqrt(q)}[decay_type]
            return max(0.0, v * (1.0 - min_lr_ratio) + min_lr_ratio)
        return min_lr_ratio
    return f


CASES = [
    ("linear", 10, 100, {}), ("linear", 0, 50, {}),
    ("cosine", 10, 100, {}), ("cosine", 5, 60, {"num_cycles": 1.5}),
    ("cosine_with_restarts", 10, 100, {}), ("cosine_with_restarts", 0, 90, {"num_cycles": 3}),
    ("polynomial", 10, 100, {}), ("polynomial", 5, 80, {"lr_end": 1e-5, "power": 2.0}),
    ("constant", 10, 100, {}), ("constant_with_warmup", 10, 100, {}),
    ("inverse_sqrt", 10, 100, {}), ("inverse_sqrt", 0, 100, {}), ("inverse_sqrt", 4, 100, {"timescale": 20}),
    ("cosine_with_min_lr", 10, 100, {"min_lr": 1e-5}), ("cosine_with_min_lr", 0, 100, {"min_lr_rate": 0.1, "num_cycles": 0.5}),
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr": 1e-5, "warmup_lr_rate": 0.1}),
    ("warmup_stable_decay", 10, 100, {"num_decay_steps": 30}),
    ("warmup_stable_decay", 10, 100, {"num_decay_steps": 20, "num_stable_steps": 40, "warmup_type": "cosine",
                                       "decay_type": "1-sqrt", "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 8, 60, {"num_decay_steps": 20, "warmup_type": "1-sqrt", "decay_type": "linear"}),
]
FACTORIES = {f.__name__: f for f in [linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup,
                                     inverse_sqrt, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay]}
LR = 1e-3


def lambda_cases():
    out = []
    for name, w, t, kwargs in CASES:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=LR)
        factory = FACTORIES[name]
        needs_lr = name in ("polynomial", "cosine_with_min_lr", "cosine_warmup_with_min_lr")
        fn = factory(w, t, lr_init=LR, **kwargs) if needs_lr else factory(w, t, **kwargs)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
        lrs = []
        for _ in range(t + 5):  # a few steps past the end as well
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out.append({"type": name, "warmup": w, "total": t, "kwargs": kwargs, "lr": LR, "lrs": lrs})
    return out


def plateau_cases():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.7, 0.7, 0.71, 0.72, 0.73, 0.74]
    out = []
    for kwargs in [{"patience": 2}, {"patience": 1, "factor": 0.5, "cooldown": 2}, {"mode": "max", "patience": 1},
                   {"patience": 0, "threshold": 0.1, "threshold_mode": "abs", "min_lr": 2e-4}]:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=LR)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for m in metrics:
            sched.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        out.append({"kwargs": kwargs, "metrics": metrics, "lr": LR, "lrs": lrs})
    return out


def python_trainer_state():
    # The fields of TrainerState as the original's dataclass holds them, with awkward values.
    state = {
        "best_global_step": 4, "best_metric": 0.4127, "best_model_checkpoint": "out/checkpoint-4", "epoch": 2.0,
        "eval_steps": 2, "global_step": 6, "is_hyper_param_search": False, "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": [
            {"epoch": 0.4, "grad_norm": 3.21, "learning_rate": 5e-05, "loss": 1.2345, "step": 1},
            {"epoch": 0.8, "grad_norm": float("inf"), "learning_rate": 4.2e-05, "loss": float("nan"), "step": 2},
            {"epoch": 0.8, "eval_loss": 0.51, "eval_runtime": 0.21, "eval_samples_per_second": 114.2,
             "eval_steps_per_second": 14.3, "step": 2, "eval_note": "caf\u00e9 \u2713"},
            {"epoch": 2.0, "step": 6, "total_flos": 1234567890123456.0, "train_loss": 0.1 + 0.2, "train_runtime": 3.5,
             "train_samples_per_second": 27.4, "train_steps_per_second": 1.71, "tiny": 1e-07, "neg": -float("inf")},
        ],
        "logging_steps": 2, "max_steps": 6, "num_input_tokens_seen": 0, "num_train_epochs": 2, "save_steps": 4,
        "stateful_callbacks": {
            "EarlyStoppingCallback": {"args": {"early_stopping_patience": 3, "early_stopping_threshold": 0.0},
                                      "attributes": {"early_stopping_patience_counter": 1}},
            "TrainerControl": {"args": {"should_epoch_stop": False, "should_evaluate": False, "should_log": False,
                                        "should_save": True, "should_training_stop": True}, "attributes": {}},
        },
        "total_flos": 1234567890123456.0, "train_batch_size": 8, "trial_name": None, "trial_params": None,
    }
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


OPTIMIZER_CASES = [
    ("adamw", {"lr": 1e-2, "weight_decay": 0.01}),
    ("adamw", {"lr": 3e-3, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 5e-3, "weight_decay": 0.05, "amsgrad": True}),
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.02, "momentum": 0.8, "dampening": 0.1}),
    ("sgd", {"lr": 0.02, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
]


def optimizer_cases():
    """100 steps of torch.optim on a quadratic: grad = 2 * (p - target), computed in float32."""
    n = 257  # not a multiple of any vector width
    p0 = torch.linspace(-1, 1, n, dtype=torch.float32)
    target = (torch.cos(torch.arange(n, dtype=torch.float32) * 0.1) * 0.5).to(torch.float32)
    out = []
    for name, kwargs in OPTIMIZER_CASES:
        p = torch.nn.Parameter(p0.clone())
        cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}[name]
        opt = cls([p], **kwargs)
        trajectory = {}
        for step in range(1, 101):
            p.grad = 2 * (p.detach() - target)
            opt.step()
            if step in (1, 2, 5, 10, 50, 100):
                trajectory[str(step)] = p.detach().tolist()
        kw = dict(kwargs)
        if "betas" in kw:
            kw["betas"] = list(kw["betas"])
        out.append({"optimizer": name, "kwargs": kw, "trajectory": trajectory})
    return {"p0": p0.tolist(), "target": target.tolist(), "cases": out}


def main():
    with open(os.path.join(HERE, "optimizers.json"), "w") as f:
        json.dump(optimizer_cases(), f)
        f.write("\n")
    with open(os.path.join(HERE, "lr_schedules.json"), "w") as f:
        json.dump({"lambda": lambda_cases(), "plateau": plateau_cases()}, f, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "trainer_state_python.json"), "w") as f:
        f.write(python_trainer_state())


if __name__ == "__main__":
    main()
