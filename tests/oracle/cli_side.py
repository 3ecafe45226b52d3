"""The scenarios that are also a command line: `trainer train` with the scenario's arguments as flags,
against the Hugging Face Trainer doing what the program documents (train, then evaluate unless an
evaluation at the last step saw the final weights). From the outside only the files tell what
happened, so these compare trainer_state.json at the end and the checkpoints left, not events.

Both sides start from the same weights: the harness saves the model as TorchScript for --model and
the data as CSV files for --train_file and --eval_file.
"""

import csv
import json
import os
import subprocess

import torch

import hf_recorder


class Logits(torch.nn.Module):
    """The harness's MLP, returning logits as `trainer train --model FILE.pt` expects."""

    def __init__(self, mlp):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = mlp.fc1, mlp.fc2, mlp.fc3

    def forward(self, x):
        h = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(h)))


def write_inputs(data, work_dir):
    """model.pt, train.csv and eval.csv from the harness's data file (floats written exactly)."""
    mlp = hf_recorder.Mlp(data["train_x"].shape[1], 3)
    mlp.load_state_dict({k[6:]: v for k, v in data.items() if k.startswith("model.")})
    torch.jit.script(Logits(mlp)).save(os.path.join(work_dir, "model.pt"))
    for split in ("train", "eval"):
        x, y = data[f"{split}_x"], data[f"{split}_y"]
        with open(os.path.join(work_dir, f"{split}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([f"f{i}" for i in range(x.shape[1])] + ["label"])
            for row, label in zip(x.tolist(), y.tolist()):
                w.writerow([repr(v) for v in row] + [label])


def flags(args):
    out = []
    for key, value in args.items():
        if value is None:
            continue
        out += [f"--{key}", ("true" if value else "false") if isinstance(value, bool) else str(value)]
    return out


def run_ours(trainer_bin, scenario, work_dir):
    output_dir = os.path.join(work_dir, "ours_cli", scenario["name"])
    args = dict({"eval_strategy": "no"}, **scenario["args"])  # the program's own default differs
    command = [trainer_bin, "train", "--model", os.path.join(work_dir, "model.pt"),
               "--train_file", os.path.join(work_dir, "train.csv"), "--eval_file", os.path.join(work_dir, "eval.csv"),
               "--output_dir", output_dir] + flags(args)
    if "early_stopping" in scenario:
        command += ["--early_stopping_patience", str(scenario["early_stopping"]["patience"]),
                    "--early_stopping_threshold", str(scenario["early_stopping"]["threshold"])]
    done = subprocess.run(command, capture_output=True, text=True)
    record = {"phase": "train", "events": [], "checkpoints": hf_recorder.checkpoint_states(output_dir)}
    if done.returncode != 0:
        record["error"] = f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    else:
        record["state"] = json.load(open(os.path.join(output_dir, "trainer_state.json")))
    return [record]


def run_original(scenario, data, work_dir):
    output_dir = os.path.join(work_dir, "original_cli", scenario["name"])
    cli = dict(scenario, metrics=True, phases=[{"kind": "train_then_evaluate"}])
    record = hf_recorder.run_phase(cli, cli["phases"][0], 0, data, output_dir)
    record["events"] = []
    return [record]
