"""Compares what the Hugging Face Trainer and this library's Trainer recorded for one scenario, and
describes the first difference with its context.

What must match: the event sequence (name, global_step, epoch, the control flags received, which
logs/metrics keys, learning rates and epochs exactly), whether a phase failed, trainer_state.json of
each checkpoint left and the state at the end (times, losses and speeds aside: they differ between
two runs of either side), which checkpoints rotation keeps, the best checkpoint, step and whether a
best metric exists.
"""

import os

# Values compared exactly in logs and log_history; every other value only by key.
EXACT_LOG_VALUES = ("learning_rate", "epoch", "step", "num_input_tokens_seen")
STATE_FIELDS = ("global_step", "max_steps", "num_train_epochs", "logging_steps", "eval_steps", "save_steps",
                "train_batch_size", "best_global_step", "num_input_tokens_seen")


def rounded(value):
    return round(value, 6) if isinstance(value, float) else value


def event_view(e):
    view = {"event": e["event"], "global_step": e["global_step"], "epoch": rounded(float(e["epoch"] or 0.0)),
            "control": list(e["control"])}
    for field in ("logs", "metrics"):
        if field in e:
            view[field] = list(e[field].keys())
            exact = {k: rounded(e[field][k]) for k in EXACT_LOG_VALUES if k in e[field]}
            if exact:
                view[field + "_values"] = exact
    return view


def history_view(entry):
    # trainer_state.json is written with sorted keys on both sides: the order means nothing there.
    return {"keys": sorted(entry.keys()),
            "values": {k: rounded(entry[k]) for k in EXACT_LOG_VALUES if k in entry}}


def state_view(state):
    if state is None:
        return None
    view = {k: rounded(state.get(k)) for k in STATE_FIELDS}
    view["epoch"] = rounded(float(state.get("epoch") or 0.0))
    best = state.get("best_model_checkpoint")
    view["best_model_checkpoint"] = os.path.basename(best) if best else None
    view["has_best_metric"] = state.get("best_metric") is not None
    view["log_history"] = [history_view(e) for e in state.get("log_history", [])]
    callbacks = state.get("stateful_callbacks") or {}
    view["stateful_callbacks"] = {name: value for name, value in sorted(callbacks.items())
                                  if name in ("TrainerControl", "EarlyStoppingCallback")}
    return view


def phase_view(phase):
    return {"phase": phase["phase"], "failed": "error" in phase,
            "events": [event_view(e) for e in phase["events"]],
            "state": state_view(phase.get("state")),
            "checkpoints": {name: state_view(s) for name, s in phase["checkpoints"].items()}}


def first_difference(original, ours):
    """None when the scenario's records agree; else a text naming the first difference."""
    if len(original) != len(ours):
        return f"phases: the original ran {len(original)}, this library {len(ours)}"
    for index, (a, b) in enumerate(zip(original, ours)):
        va, vb = phase_view(a), phase_view(b)
        where = f"phase {index} ({va['phase']})"
        if va["failed"] != vb["failed"]:
            return (f"{where}: the original {'failed: ' + a['error'] if va['failed'] else 'succeeded'}; "
                    f"this library {'failed: ' + b['error'] if vb['failed'] else 'succeeded'}")
        text = events_difference(va["events"], vb["events"])
        if text:
            return f"{where}, events: {text}"
        if list(va["checkpoints"]) != list(vb["checkpoints"]):
            return f"{where}: checkpoints left: original {list(va['checkpoints'])}, this library {list(vb['checkpoints'])}"
        for name in va["checkpoints"]:
            text = dict_difference(va["checkpoints"][name], vb["checkpoints"][name])
            if text:
                return f"{where}, {name}/trainer_state.json: {text}"
        text = dict_difference(va["state"], vb["state"])
        if text:
            return f"{where}, the state at the end: {text}"
    return None


def events_difference(a, b):
    for i in range(max(len(a), len(b))):
        ea = a[i] if i < len(a) else None
        eb = b[i] if i < len(b) else None
        if ea != eb:
            context = lambda events: "\n".join(f"      {j}: {events[j]}" for j in range(max(0, i - 3), min(len(events), i + 2)))
            return (f"event {i} differs\n    original:\n{context(a)}\n    this library:\n{context(b)}")
    return None


def dict_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a.keys()) + [k for k in b.keys() if k not in a]:
            if key not in a or key not in b:
                return f"{path}{key}: original {a.get(key, '<absent>')!r}, this library {b.get(key, '<absent>')!r}"
            text = dict_difference(a[key], b[key], f"{path}{key}.")
            if text:
                return text
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            if i >= len(a) or i >= len(b):
                return (f"{path}[{i}]: original has {len(a)} entries, this library {len(b)} "
                        f"(next: {a[i] if i < len(a) else b[i]!r})")
            text = dict_difference(a[i], b[i], f"{path}[{i}].")
            if text:
                return text
        return None
    if a != b:
        return f"{path.rstrip('.')}: original {a!r}, this library {b!r}"
    return None
