#!/usr/bin/env python3
"""Checks W&B history rows against a run's trainer_state.json: one row per log_history entry, in
order, keys rewritten as the original's rewrite_logs, train/global_step the entry's step, W&B's
_step 0, 1, 2, ...; the single-value scalars (train_runtime, ...) in the summary instead.

usage: compare_wandb.py ROWS TRAINER_STATE_JSON [--summary JSON_FILE] [--rejected FILE] [--timings-may-differ]

ROWS: a JSON list of rows (read_wandb.py --history-out), or the mock server's state file (its one
run's history; the run must be complete). --rejected adds the rows kept in rejected.jsonl.
--timings-may-differ: after a SIGKILL and a resume, a timing logged before the kill may differ.
"""
import argparse
import json
import math
import sys

from tracking_compare import TIMING, rewrite

SINGLES = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}


def same(a, b, key, timings):
    if timings and TIMING.search(key):
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rows")
    p.add_argument("trainer_state")
    p.add_argument("--rejected")
    p.add_argument("--exit-code", type=int, default=0)
    p.add_argument("--timings-may-differ", action="store_true")
    args = p.parse_args()
    with open(args.rows) as f:
        data = json.load(f)
    problems, summary = [], None
    if isinstance(data, dict):  # the mock server's state
        if data["violations"]:
            problems.append(f"requests of the wrong shape: {data['violations']}")
        if len(data["runs"]) != 1:
            problems.append(f"expected one run on the server, found {len(data['runs'])}")
        run = data["runs"][0] if data["runs"] else {"history": [], "complete": False, "exitcode": -1, "summary": {}}
        if not run["complete"] or run["exitcode"] != args.exit_code:
            problems.append(f"run complete={run['complete']} exitcode={run['exitcode']}, expected exit code {args.exit_code}")
        if run.get("repeated_lines") and not args.timings_may_differ:
            problems.append(f"{run['repeated_lines']} history lines were sent twice")
        rows, summary = run["history"], run["summary"]
    else:
        rows = data
    if args.rejected:
        with open(args.rejected) as f:
            for line in f:
                record = json.loads(line)["record"]
                if record.get("type", "history") == "history" and "row" in record:
                    rows.append(record["row"])
        rows.sort(key=lambda r: r["_step"])
    with open(args.trainer_state) as f:
        history = json.load(f)["log_history"]
    expected, singles = [], {}
    for entry in history:
        row = {}
        for key, value in entry.items():
            if key == "step":
                continue
            if key in SINGLES:
                singles[key] = value
            else:
                row[rewrite(key)] = value
        if row:
            row["train/global_step"] = entry["step"]
            expected.append(row)
    if [r["_step"] for r in rows] != list(range(len(rows))):
        problems.append(f"_step is not 0, 1, 2, ...: {[r['_step'] for r in rows][:12]}")
    got = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    if len(got) != len(expected):
        problems.append(f"{len(got)} rows, expected {len(expected)}")
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.keys() != e.keys() or not all(same(g[k], e[k], k, args.timings_may_differ) for k in e):
            problems.append(f"row {i} differs: got {g}, expected {e}")
            break
    if summary is not None:
        for key, value in singles.items():
            if not same(summary.get(key), value, key, args.timings_may_differ):
                problems.append(f"summary[{key}] = {summary.get(key)}, expected {value}")
    if problems:
        print("compare_wandb: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"compare_wandb: {len(got)} rows, each exactly once and in order" + (", summary holds the single values" if summary is not None else ""))


if __name__ == "__main__":
    main()
