#!/usr/bin/env python3
"""An independent reader of neptune-client 1.x offline runs, as
`neptune sync` replays them.

usage: read_neptune.py DATA_DIRECTORY [--log-history TRAINER_STATE_JSON] [--namespace finetuning]

Checks: exactly one offline/run__<uuid>__<pid>__<random>/ folder; data-<min version>.log files of
JSON lines {"obj": <operation>, "version": N, "at": <unix time>} with versions 1, 2, 3, ... across
the files in order; last_put_version holds the last version, last_ack_version 0; every operation a
known type with a non-empty list path; every UploadFileSet glob an existing path. It replays the
operations into attributes (assigned values, float series, file sets) and, with --log-history,
checks the float series against the run's log_history: each number of each entry, keys rewritten
(train/loss, eval/loss, train/train_runtime: the original logs the single values as series too),
at its step, in order, once; train/epoch assigned its last value.
Prints a JSON summary on stdout.
"""
import argparse
import glob
import json
import math
import os
import re
import sys

KNOWN = {"AssignString", "AssignInt", "AssignFloat", "AssignBool", "LogFloats", "UploadFileSet", "DeleteFiles",
         "DeleteAttribute"}


def fail(message):
    print("read_neptune: " + message, file=sys.stderr)
    sys.exit(1)


def rewrite(key):
    for prefix, ns in (("eval_", "eval/"), ("test_", "test/")):
        if key.startswith(prefix):
            return ns + key[len(prefix):]
    return "train/" + key


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data_directory")
    p.add_argument("--log-history")
    p.add_argument("--namespace", default="finetuning")
    args = p.parse_args()
    runs = glob.glob(os.path.join(args.data_directory, "offline", "*"))
    if len(runs) != 1:
        fail(f"expected one offline run, found {runs}")
    run = runs[0]
    if not re.fullmatch(r"run__[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}__\d+__[a-z0-9]{8}", os.path.basename(run)):
        fail(f"{os.path.basename(run)}: not run__<uuid>__<pid>__<random>")
    logs = sorted(glob.glob(os.path.join(run, "data-*.log")), key=lambda f: int(re.search(r"data-(\d+)\.log", f).group(1)))
    if not logs:
        fail("no data-*.log file")
    ops, version = [], 0
    for log in logs:
        first_version = int(re.search(r"data-(\d+)\.log", log).group(1))
        with open(log) as f:
            for n, line in enumerate(f, 1):
                element = json.loads(line)
                if set(element) != {"obj", "version", "at"}:
                    fail(f"{log}:{n}: keys {sorted(element)}")
                if n == 1 and element["version"] != first_version:
                    fail(f"{log}: starts at version {element['version']}, not {first_version}")
                if element["version"] != version + 1:
                    fail(f"{log}:{n}: version {element['version']} after {version}")
                version = element["version"]
                if not isinstance(element["at"], (int, float)):
                    fail(f"{log}:{n}: at is not a unix time")
                op = element["obj"]
                if op.get("type") not in KNOWN or not isinstance(op.get("path"), list) or not op["path"]:
                    fail(f"{log}:{n}: not an operation: {op}")
                ops.append(op)
    for name, expected in (("last_put_version", version), ("last_ack_version", 0)):
        with open(os.path.join(run, name)) as f:
            if int(f.read().strip()) != expected:
                fail(f"{name} is not {expected}")
    assigned, series, files = {}, {}, {}
    for op in ops:
        path = "/".join(op["path"])
        if op["type"].startswith("Assign"):
            assigned[path] = op["value"]
        elif op["type"] == "LogFloats":
            for point in op["values"]:
                if set(point) != {"value", "step", "ts"}:
                    fail(f"{path}: series point {point}")
                series.setdefault(path, []).append((point["step"], point["value"]))
        elif op["type"] == "UploadFileSet":
            for g in op["file_globs"]:
                if not os.path.exists(g):
                    fail(f"{path}: {g} does not exist (neptune sync could not upload it)")
            files.setdefault(path, []).extend(os.path.basename(g) for g in op["file_globs"])
        elif op["type"] == "DeleteFiles":
            files[path] = [f for f in files.get(path, []) if f not in op["file_paths"]]
    ns = args.namespace + "/" if args.namespace else ""
    if args.log_history:
        history = json.load(open(args.log_history))["log_history"]
        expected, epoch = {}, None
        for entry in history:
            for k, v in entry.items():
                if k == "step" or isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue
                if rewrite(k) == "train/epoch":
                    epoch = v
                    continue
                expected.setdefault(ns + rewrite(k), []).append((float(entry["step"]), float(v)))
        same = lambda a, b: a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        for key, points in expected.items():
            got = series.get(key, [])
            if len(got) != len(points) or not all(g[0] == e[0] and same(float(g[1]), e[1]) for g, e in zip(got, points)):
                fail(f"{key}: series {got[:5]}... != log_history {points[:5]}...")
        extra = set(series) - set(expected)
        if extra:
            fail(f"series not in log_history: {sorted(extra)}")
        if epoch is not None and assigned.get(ns + "train/epoch") != epoch:
            fail(f"{ns}train/epoch is {assigned.get(ns + 'train/epoch')}, log_history's last is {epoch}")
    print(json.dumps({"run": os.path.basename(run), "operations": len(ops), "assigned": assigned,
                      "series": {k: len(v) for k, v in series.items()}, "files": files}))


if __name__ == "__main__":
    main()
