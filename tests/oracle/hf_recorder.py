"""The Python side of the oracle harness: every scenario through the Hugging Face Trainer itself
(transformers from PyPI, on the same torch as the LibTorch), recorded in the format that
oracle_recorder.cpp writes for this library's Trainer.

One process runs every scenario (importing transformers takes seconds; a scenario a fraction).
"""

import dataclasses
import json
import os
import shutil

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

FLAGS = ("should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log")
EVENTS = ("on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_step_begin",
          "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end", "on_evaluate",
          "on_predict", "on_save", "on_log", "on_prediction_step")


class Mlp(nn.Module):
    """The library's built-in "mlp" (src/torch/models.cpp), returning the loss as the original expects."""

    main_input_name = "x"

    def __init__(self, in_features, classes):
        super().__init__()
        self.fc1 = nn.Linear(in_features, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, classes)

    def forward(self, x, labels=None):
        h = F.relu(self.fc1(x.flatten(1)))
        h = F.relu(self.fc2(h))
        logits = self.fc3(h)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels)
        return out


class Examples(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


def plain(value):
    """A JSON value from what a callback is given (floats, ints, tensors, numpy scalars)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return value


class Recorder(TrainerCallback):
    """Records every event; carries out the scenario's control actions {event, step, flag, value}."""

    def __init__(self, events, actions):
        self.events = events
        self.actions = actions
        for name in EVENTS:
            setattr(self, name, self._recording(name))

    def _recording(self, event):
        def record(args, state, control, **kwargs):
            entry = {"event": event, "global_step": state.global_step, "epoch": state.epoch or 0.0,
                     "control": [f for f in FLAGS if getattr(control, f)]}
            if event == "on_log":
                entry["logs"] = plain(dict(kwargs["logs"]))
            if event in ("on_evaluate", "on_predict"):
                entry["metrics"] = plain(dict(kwargs["metrics"]))
            self.events.append(entry)
            for a in self.actions:
                if a["event"] == event and a["step"] == state.global_step:
                    setattr(control, a["flag"], a.get("value", True))
        return record


def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def checkpoint_states(output_dir):
    out = {}
    if not os.path.isdir(output_dir):
        return out
    names = [n for n in os.listdir(output_dir) if n.startswith("checkpoint-") and n[11:].isdigit()]
    for name in sorted(names, key=lambda n: int(n[11:])):
        path = os.path.join(output_dir, name, "trainer_state.json")
        out[name] = json.load(open(path)) if os.path.exists(path) else None
    return out


def run_phase(scenario, phase, index, data, output_dir):
    kwargs = dict(scenario["args"])
    kwargs.update(phase.get("args", {}))
    kwargs["output_dir"] = output_dir
    events = []
    record = {"phase": phase["kind"]}
    try:
        args = TrainingArguments(**kwargs)
        model = Mlp(data["train_x"].shape[1], 3)
        model.load_state_dict({k[6:]: v for k, v in data.items() if k.startswith("model.")})
        actions = [a for a in scenario.get("actions", []) if a.get("phase", 0) == index]
        callbacks = []
        if "early_stopping" in scenario:
            es = scenario["early_stopping"]
            callbacks.append(EarlyStoppingCallback(es.get("patience", 1), es.get("threshold", 0.0)))
        callbacks.append(Recorder(events, actions))
        trainer = Trainer(model=model, args=args, train_dataset=Examples(data["train_x"], data["train_y"]),
                          eval_dataset=Examples(data["eval_x"], data["eval_y"]), callbacks=callbacks,
                          compute_metrics=accuracy if scenario.get("metrics") else None)
        if phase["kind"] == "train":
            trainer.train(resume_from_checkpoint=resume_request(phase.get("resume"), output_dir))
            if phase.get("save_model"):
                trainer.save_model(os.path.join(output_dir, "final"))
        elif phase["kind"] == "train_then_evaluate":
            # What `trainer train` does: the final evaluation, unless one at the last step saw the weights.
            trainer.train()
            last = trainer.state.log_history[-2] if len(trainer.state.log_history) > 1 else {}
            reloaded = args.load_best_model_at_end and trainer.state.best_model_checkpoint is not None
            if reloaded or not ("eval_loss" in last and last["step"] == trainer.state.global_step):
                trainer.evaluate()
        elif phase["kind"] == "evaluate":
            trainer.evaluate()
        elif phase["kind"] == "predict":
            trainer.predict(Examples(data["eval_x"], data["eval_y"]))
        record["state"] = json.loads(json.dumps(dataclasses.asdict(trainer.state), default=plain))
    except Exception as e:  # the C++ side records its errors the same way
        record["error"] = f"{type(e).__name__}: {e}"
    record["events"] = events
    record["checkpoints"] = checkpoint_states(output_dir)
    return record


def resume_request(resume, output_dir):
    """The original takes True for "the newest checkpoint in output_dir"; this library takes "last"."""
    if resume in ("last", "true", "True"):
        return True
    return resume


def record_all(scenarios, data_path, work_dir):
    data = load_file(data_path)
    results = {}
    for scenario in scenarios:
        output_dir = os.path.join(work_dir, scenario["name"])
        shutil.rmtree(output_dir, ignore_errors=True)
        results[scenario["name"]] = [run_phase(scenario, p, i, data, output_dir)
                                     for i, p in enumerate(scenario["phases"])]
    return results
