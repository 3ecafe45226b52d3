#!/usr/bin/env python3
"""Checks a trackio project database (read with Python's sqlite3) against a run's log_history.

usage: compare_trackio.py DB RUN_NAME TRAINER_STATE_JSON

The run's metrics rows, in insertion order, must be the log_history entries with the original's
rewriting (loss -> train/loss, eval_loss -> eval/loss), train/global_step added and the single-value
metrics (train_runtime, ...) dropped, each once; trackio's steps 0, 1, 2, ...; non-finite numbers as
the strings NaN/Infinity; one configs row for the run with model/num_parameters.
"""
import json
import math
import sqlite3
import sys

SINGLE = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}


def rewrite(key):
    for prefix, ns in (("eval_", "eval/"), ("test_", "test/")):
        if key.startswith(prefix):
            return ns + key[len(prefix):]
    return "train/" + key


def stored(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def main():
    db, run_name, state_file = sys.argv[1:4]
    history = json.load(open(state_file))["log_history"]
    expected = []
    for entry in history:
        row = {rewrite(k): stored(v) for k, v in entry.items() if k != "step" and k not in SINGLE}
        if row:
            row["train/global_step"] = entry["step"]
            expected.append(row)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT step, metrics FROM metrics WHERE run_name = ? ORDER BY id", (run_name,)).fetchall()
    got = [json.loads(m) for _, m in rows]
    if got != expected:
        for i, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                print(f"row {i}: database {g} != log_history {e}", file=sys.stderr)
                break
        print(f"{run_name}: {len(got)} rows in the database, {len(expected)} expected", file=sys.stderr)
        sys.exit(1)
    if sorted(s for s, _ in rows) != list(range(len(rows))):
        print(f"{run_name}: steps are not 0..{len(rows) - 1}", file=sys.stderr)
        sys.exit(1)
    configs = con.execute("SELECT config FROM configs WHERE run_name = ?", (run_name,)).fetchall()
    if len(configs) != 1 or "model/num_parameters" not in json.loads(configs[0][0]):
        print(f"{run_name}: {len(configs)} configs rows, or no model/num_parameters", file=sys.stderr)
        sys.exit(1)
    print(f"{run_name}: {len(got)} rows match log_history")


if __name__ == "__main__":
    main()
