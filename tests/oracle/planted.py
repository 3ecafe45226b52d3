"""Proof, on every run, that the comparison can fail: three differences planted in a copy of this
library's record of one scenario (an event moved, a control flag not reset, a logs key renamed) must
each be reported by compare.first_difference, naming the event."""

import copy

import compare


def plants(phases):
    """(what, damaged copy) for each planted difference."""
    events = phases[0]["events"]
    logged = next(i for i, e in enumerate(events) if e["event"] == "on_log" and "loss" in e.get("logs", {}))

    moved = copy.deepcopy(phases)
    moved[0]["events"][logged], moved[0]["events"][logged - 1] = (moved[0]["events"][logged - 1],
                                                                  moved[0]["events"][logged])
    not_reset = copy.deepcopy(phases)
    not_reset[0]["events"][logged]["control"].append("should_log")
    renamed = copy.deepcopy(phases)
    logs = renamed[0]["events"][logged]["logs"]
    renamed[0]["events"][logged]["logs"] = {("training_loss" if k == "loss" else k): v for k, v in logs.items()}
    return [("an event moved", moved), ("a flag not reset", not_reset), ("a key renamed", renamed)]


def check(original, ours):
    """Failures of the comparison to see a planted difference (empty when it sees all three)."""
    failures = []
    if compare.first_difference(original, ours) is not None:
        return ["the scenario chosen for planting differs already"]
    for what, damaged in plants(ours):
        if compare.first_difference(original, damaged) is None:
            failures.append(f"{what} was not reported")
    return failures
