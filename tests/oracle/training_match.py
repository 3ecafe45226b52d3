"""How far this library's training is from the original's, for the scenarios that ask
(training_match): the relative difference of the loss at every log, and of the final weights
(per tensor, |ours - original| / |original| in the L2 norm; the largest is reported)."""

import os

import torch
from safetensors.torch import load_file

MATCH_TOLERANCE = 1e-5


def loss_differences(original_phase, ours_phase):
    a = [e for e in original_phase["state"]["log_history"] if "loss" in e]
    b = [e for e in ours_phase["state"]["log_history"] if "loss" in e]
    if [e["step"] for e in a] != [e["step"] for e in b]:
        raise ValueError("the logged steps differ")
    return [abs(x["loss"] - y["loss"]) / abs(x["loss"]) for x, y in zip(a, b)]


def weight_difference(original_dir, ours_dir):
    a = load_file(os.path.join(original_dir, "final", "model.safetensors"))
    b = load_file(os.path.join(ours_dir, "final", "model.safetensors"))
    if sorted(a) != sorted(b):
        raise ValueError(f"the weights' names differ: {sorted(a)} against {sorted(b)}")
    return max(((b[k].double() - a[k].double()).norm() / a[k].double().norm()).item() for k in a)


def measure(scenario, original, ours, work_dir):
    """(text, within_tolerance) for one training-match scenario."""
    try:
        losses = loss_differences(original[0], ours[0])
        weights = weight_difference(os.path.join(work_dir, "original", scenario["name"]),
                                    os.path.join(work_dir, "ours", scenario["name"]))
    except (KeyError, ValueError, FileNotFoundError) as e:
        return f"{scenario['name']}: cannot compare ({e})", False
    worst = max(losses) if losses else 0.0
    held = scenario["training_match"]["held_to_tolerance"]
    within = worst <= MATCH_TOLERANCE and weights <= MATCH_TOLERANCE
    text = (f"{scenario['name']} ({scenario['args']['optim']}, gradient accumulation "
            f"{scenario['args']['gradient_accumulation_steps']}): loss at {len(losses)} logs, largest relative "
            f"difference {worst:.2e}; final weights {weights:.2e} "
            f"({'within' if within else 'beyond'} {MATCH_TOLERANCE:g}{'' if held else ', measured only'})")
    return text, within or not held
