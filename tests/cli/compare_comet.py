#!/usr/bin/env python3
"""Checks a mock Comet server's state (mock_tracking_server --service comet --state-file) against a
run's trainer_state.json: one experiment, stopped, with the expected status, and every number of
log_history exactly once (keys rewritten as the original's rewrite_logs, at the entry's step).

usage: compare_comet.py STATE_JSON TRAINER_STATE_JSON [--status FINISHED] [--rejected FILE] [--timings-may-differ]

--timings-may-differ: after a SIGKILL and a resume, a timing the killed process sent keeps its value.
"""
import argparse
import collections
import json
import sys

from tracking_compare import point, rewrite


def main():
    p = argparse.ArgumentParser()
    p.add_argument("state")
    p.add_argument("trainer_state")
    p.add_argument("--status", default="FINISHED")
    p.add_argument("--rejected")
    p.add_argument("--timings-may-differ", action="store_true")
    args = p.parse_args()
    with open(args.state) as f:
        server = json.load(f)
    with open(args.trainer_state) as f:
        history = json.load(f)["log_history"]
    problems = []
    if server["violations"]:
        problems.append(f"requests of the wrong shape: {server['violations']}")
    if len(server["experiments"]) != 1:
        problems.append(f"expected one experiment, found {len(server['experiments'])}")
    e = server["experiments"][0] if server["experiments"] else {"metrics": [], "others": {}, "stopped": False, "duplicate_points": 0}
    if e["duplicate_points"] and not args.timings_may_differ:
        problems.append(f"{e['duplicate_points']} metric points were sent twice")
    if e["others"].get("status") != args.status or not e["stopped"]:
        problems.append(f"status {e['others'].get('status')}, stopped {e['stopped']}; expected {args.status}, stopped")
    expected = collections.Counter()
    for entry in history:
        for key, value in entry.items():
            if key == "step" or not isinstance(value, (int, float)):
                continue
            expected[point(rewrite(key), entry["step"], value, args.timings_may_differ)] += 1
    found = collections.Counter(point(m["name"], m["step"], m["value"], args.timings_may_differ) for m in e["metrics"])
    if args.rejected:
        with open(args.rejected) as f:
            for line in f:
                record = json.loads(line)["record"]
                for key, value in record.get("metrics", {}).items():
                    found[point(key, record["step"], value, args.timings_may_differ)] += 1
    if found != expected:
        missing, extra = expected - found, found - expected
        problems.append(f"metrics differ: {sum(missing.values())} missing {dict(list(missing.items())[:5])}, "
                        f"{sum(extra.values())} unexpected {dict(list(extra.items())[:5])}")
    if problems:
        print("compare_comet: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"compare_comet: {sum(found.values())} metric points, each exactly once, {e['others'].get('status')}")


if __name__ == "__main__":
    main()
