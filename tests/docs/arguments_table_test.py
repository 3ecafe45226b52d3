#!/usr/bin/env python3
"""docs/arguments.md against transformers' own TrainingArguments and against `trainer train`:
  - every init field of transformers.TrainingArguments has exactly one row, in the original's order,
    and the table names no field the original lacks;
  - every `same` or `different` field is a flag of `trainer train --help`;
  - every `refused` field that is not a flag here is refused by `trainer train` with exit status 2
    and the reason the table gives.
    arguments_table_test.py TRAINER_BIN SOURCE_DIR     prints "N passed, N failed"; exit status 1 on a failure
"""
import dataclasses
import os
import re
import subprocess
import sys

import transformers
from transformers import TrainingArguments

BIN, SRC = sys.argv[1], sys.argv[2]
failures, passed = [], []


def check(name, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail))
    (passed if ok else failures).append(name)


table = open(os.path.join(SRC, "docs", "arguments.md")).read()
rows = [(m.group(1), m.group(2), m.group(3).replace("\\|", "|"))
        for m in re.finditer(r"^\| `([a-z0-9_]+)` \| (same|different|refused) \| (.*) \|$", table, re.M)]
original = [f.name for f in dataclasses.fields(TrainingArguments) if f.init]
check(f"the table lists transformers {transformers.__version__}'s {len(original)} fields in order",
      [r[0] for r in rows] == original,
      f"missing {sorted(set(original) - {r[0] for r in rows})}, not the original's "
      f"{sorted({r[0] for r in rows} - set(original))}, or out of order")

help_text = subprocess.run([BIN, "train", "--help"], capture_output=True, text=True, check=True).stdout
flags = set(re.findall(r"^\s+--([a-z0-9_]+)", help_text, re.M))
for name, status, reason in rows:
    if status in ("same", "different"):
        check(f"--{name} ({status}) is a flag", name in flags)
    elif name not in flags:
        r = subprocess.run([BIN, "train", f"--{name}", "1"], capture_output=True, text=True)
        check(f"--{name} is refused with the table's reason", r.returncode == 2 and reason in r.stderr,
              f"exit {r.returncode}: {r.stderr.strip()[:200]}")
    else:
        check(f"--{name} (refused for some values) says why in the table", len(reason) > 20, reason)

print(f"{len(passed)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
