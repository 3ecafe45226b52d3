#!/usr/bin/env python3
"""An independent reader of an mlruns/ file store, checked file by file against MLflow's FileStore
layout. PyYAML only, no MLflow.

usage: read_mlruns.py ROOT EXPERIMENT_NAME RUN_NAME EXPECTED_POINTS_JSON
EXPECTED_POINTS_JSON: [[key, step, value_text], ...] the metric points that must be there, once each.
"""
import collections
import json
import math
import os
import re
import sys

import yaml


def fail(message):
    print("read_mlruns: " + message, file=sys.stderr)
    sys.exit(1)


def load_meta(path):
    with open(path) as f:
        text = f.read()
    keys = [line.split(":", 1)[0] for line in text.splitlines() if line and not line.startswith(" ")]
    if keys != sorted(keys):
        fail(f"{path}: keys are not sorted as PyYAML's safe_dump writes them: {keys}")
    return yaml.safe_load(text)


def canonical(value_text):
    v = float(value_text)
    return "nan" if math.isnan(v) else repr(v)


def main():
    root, experiment_name, run_name, expected_path = sys.argv[1:5]
    default = load_meta(os.path.join(root, "0", "meta.yaml"))
    if default["name"] != "Default" or default["experiment_id"] != "0":
        fail(f"experiment 0 is not Default: {default}")
    experiments = {}
    for entry in os.listdir(root):
        meta_path = os.path.join(root, entry, "meta.yaml")
        if os.path.isfile(meta_path):
            meta = load_meta(meta_path)
            if meta["experiment_id"] != entry or not isinstance(meta["experiment_id"], str):
                fail(f"{meta_path}: experiment_id {meta['experiment_id']!r} is not the folder name as a string")
            for key, kind in [("creation_time", int), ("last_update_time", int), ("lifecycle_stage", str), ("name", str),
                              ("artifact_location", str)]:
                if not isinstance(meta.get(key), kind):
                    fail(f"{meta_path}: {key} is {meta.get(key)!r}")
            if not meta["artifact_location"].startswith("file://"):
                fail(f"{meta_path}: artifact_location {meta['artifact_location']}")
            experiments[meta["name"]] = entry
    if experiment_name not in experiments:
        fail(f"no experiment named {experiment_name}: {experiments}")
    if experiments[experiment_name] == "0" or not re.fullmatch(r"[1-9][0-9]{17}", experiments[experiment_name]):
        fail(f"experiment id {experiments[experiment_name]} is not an 18-digit id")
    exp_dir = os.path.join(root, experiments[experiment_name])
    runs = [d for d in os.listdir(exp_dir) if os.path.isdir(os.path.join(exp_dir, d))]
    if len(runs) != 1 or not re.fullmatch(r"[0-9a-f]{32}", runs[0]):
        fail(f"expected one run folder (32 hex characters) in {exp_dir}: {runs}")
    run_dir = os.path.join(exp_dir, runs[0])
    meta = load_meta(os.path.join(run_dir, "meta.yaml"))
    expect = {"run_id": runs[0], "run_uuid": runs[0], "run_name": run_name, "status": 3, "source_type": 4,
              "lifecycle_stage": "active", "experiment_id": experiments[experiment_name], "tags": [],
              "entry_point_name": "", "source_name": "", "source_version": ""}
    for key, value in expect.items():
        if meta.get(key) != value:
            fail(f"run meta.yaml: {key} is {meta.get(key)!r}, expected {value!r}")
    if "deleted_time" in meta:
        fail("run meta.yaml still has deleted_time after the run ended")
    if not isinstance(meta["start_time"], int) or not isinstance(meta["end_time"], int) or meta["end_time"] < meta["start_time"]:
        fail(f"run meta.yaml: start_time {meta['start_time']!r}, end_time {meta['end_time']!r}")
    if meta["artifact_uri"] != "file://" + os.path.join(run_dir, "artifacts"):
        fail(f"run meta.yaml: artifact_uri {meta['artifact_uri']}")
    with open(os.path.join(run_dir, "tags", "mlflow.runName")) as f:
        if f.read() != run_name:
            fail("tags/mlflow.runName is not the run name (or ends with a newline)")
    params = os.listdir(os.path.join(run_dir, "params"))
    if "learning_rate" not in params:
        fail(f"params/learning_rate missing: {sorted(params)[:10]}")
    for name in params:
        with open(os.path.join(run_dir, "params", name)) as f:
            if f.read().endswith("\n"):
                fail(f"params/{name} ends with a newline")
    found = collections.Counter()
    metrics_dir = os.path.join(run_dir, "metrics")
    for folder, _, files in os.walk(metrics_dir):
        for name in files:
            key = os.path.relpath(os.path.join(folder, name), metrics_dir).replace(os.sep, "/")
            with open(os.path.join(folder, name)) as f:
                text = f.read()
            if not text.endswith("\n"):
                fail(f"metrics/{key} does not end with a newline")
            for line in text.splitlines():
                parts = line.split(" ")
                if len(parts) != 3 or not re.fullmatch(r"[0-9]+", parts[0]) or not re.fullmatch(r"-?[0-9]+", parts[2]):
                    fail(f"metrics/{key}: line {line!r} is not 'timestamp value step'")
                if parts[1] not in ("nan", "inf", "-inf") and not re.fullmatch(r"-?[0-9.e+-]+", parts[1]):
                    fail(f"metrics/{key}: value {parts[1]!r} is not Python's repr of a float")
                found[(key, int(parts[2]), canonical(parts[1]))] += 1
    with open(expected_path) as f:
        expected = collections.Counter((k, s, canonical(v)) for k, s, v in json.load(f))
    if found != expected:
        fail(f"metric points differ: missing {dict(expected - found)}, unexpected {dict(found - expected)}")
    print(f"read_mlruns: {sum(found.values())} metric points, {len(params)} params, run {runs[0]} FINISHED: as MLflow's FileStore writes them")


if __name__ == "__main__":
    main()
