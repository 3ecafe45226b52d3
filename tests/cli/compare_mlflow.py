#!/usr/bin/env python3
"""Checks a mock MLflow server's state (mock_tracking_server --service mlflow --state-file) against a run's
trainer_state.json: one run, ended as expected, and every number of log_history there exactly once
(MLflow's key sanitising, at the entry's step), except records kept in rejected.jsonl.

usage: compare_mlflow.py STATE_JSON TRAINER_STATE_JSON [--status FINISHED] [--rejected FILE] [--resent-after-kill]

The server stores a point sent twice identically once (as MLflow's database store does); without
--resent-after-kill no point may even have been sent twice. With it (a process SIGKILLed between the
server's answer and the journal's acknowledgement sends that batch again on resume) the repeats are
allowed and counted, and a timing (`*_runtime`, `*_per_second`) logged after the checkpoint may hold
the killed attempt's value: the resume skips a point the server already has (same key and step), and
only timings differ between two attempts at a step.
"""
import argparse
import collections
import json
import re
import sys

from tracking_compare import point


def main():
    p = argparse.ArgumentParser()
    p.add_argument("state")
    p.add_argument("trainer_state")
    p.add_argument("--status", default="FINISHED")
    p.add_argument("--rejected")
    p.add_argument("--resent-after-kill", action="store_true")
    args = p.parse_args()
    with open(args.state) as f:
        server = json.load(f)
    with open(args.trainer_state) as f:
        history = json.load(f)["log_history"]
    problems = []
    if server["violations"]:
        problems.append(f"requests of the wrong shape: {server['violations']}")
    if len(server["runs"]) != 1:
        problems.append(f"expected one run on the server, found {len(server['runs'])}")
    run = server["runs"][0] if server["runs"] else {"metrics": [], "status": None}
    repeats = run.get("duplicate_points", 0)
    if repeats and not args.resent_after_kill:
        problems.append(f"{repeats} metric points were sent twice")
    if run["status"] != args.status:
        problems.append(f"run status {run['status']}, expected {args.status}")
    expected = collections.Counter()
    for entry in history:
        for key, value in entry.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            key = re.sub(r"[^0-9A-Za-z_\-. :/]", "_", key)
            expected[point(key, entry["step"], value, args.resent_after_kill)] += 1
    found = collections.Counter(point(m["key"], m["step"], m["value"], args.resent_after_kill)
                                for m in run["metrics"])
    if args.rejected:
        with open(args.rejected) as f:
            for line in f:
                record = json.loads(line)["record"]
                for key, value in record.get("metrics", {}).items():
                    found[point(key, record["step"], value, args.resent_after_kill)] += 1
    if found != expected:
        missing, extra = expected - found, found - expected
        problems.append(f"metrics differ: {sum(missing.values())} missing {dict(list(missing.items())[:5])}, "
                        f"{sum(extra.values())} unexpected or duplicated {dict(list(extra.items())[:5])}")
    if problems:
        print("compare_mlflow: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)
    resent = f" ({repeats} sent again after the kill, stored once)" if repeats else ""
    print(f"compare_mlflow: {sum(found.values())} metric points, each exactly once{resent}, run {run['status']}")


if __name__ == "__main__":
    main()
