#!/usr/bin/env python3
"""The README and docs against the code, so that they cannot go stale:
  - the README's `--report_to` list names every integration of `trainer train --help` (the
    registry), in the registry's order, and nothing else;
  - docs/integrations.md has a `--report_to NAME` section for each;
  - the README's Layout names every folder under include/trainer/ and src/, every integration
    folder, and every top-level folder of the repository, and each path it names exists;
  - every folder of src/integrations/ declares its integration (integration.cpp), which the build collects.
    docs_test.py TRAINER_BIN SOURCE_DIR       prints "N passed, N failed"; exit status 1 on a failure
"""
import os, re, subprocess, sys

BIN, SRC = sys.argv[1], sys.argv[2]
readme = open(os.path.join(SRC, "README.md")).read()
failures = []
passed = []


def check(name, ok, detail=""):
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail))
    (passed if ok else failures).append(name)


help_text = subprocess.run([BIN, "train", "--help"], capture_output=True, text=True, check=True).stdout
section = help_text[help_text.index("integrations (--report_to"):]
registry = re.findall(r"^  ([a-z_]+)(?::|$)", section, re.M)
check("--help lists the integrations", len(registry) >= 10, section[:300])

listed = re.search(r"`--report_to` takes (.*?)\n\s*\(", readme, re.S)
check("README has its --report_to list", listed is not None)
if listed:
    names = [n for n in re.findall(r"`([a-z_]+)`", listed.group(1)) if n not in ("all", "none")]
    check("README's --report_to list is the registry's, in its order", names == registry,
          f"README: {names}\n      registry: {registry}")

integrations_md = open(os.path.join(SRC, "docs", "integrations.md")).read()
missing = [n for n in registry if f"--report_to {n}" not in integrations_md]
check("docs/integrations.md has a section for each integration", not missing, f"missing: {missing}")

layout = readme[readme.index("## Layout"):]
layout = layout[layout.index("```") + 3:]
layout = layout[:layout.index("```")]
named = re.findall(r"^([A-Za-z_.][\w./,-]*/)", layout, re.M)
paths = [p for entry in named for p in entry.split(",") if p]
gone = [p for p in paths if not os.path.isdir(os.path.join(SRC, p))]
check("every folder the Layout names exists", not gone, f"gone: {gone}")

def subfolders(path):
    return sorted(d for d in os.listdir(os.path.join(SRC, path)) if os.path.isdir(os.path.join(SRC, path, d)))

tracked = subprocess.run(["git", "-C", SRC, "ls-files"], capture_output=True, text=True).stdout.split()
top = sorted({t.split("/")[0] + "/" for t in tracked if "/" in t and not t.startswith(".")}) if tracked else []
unnamed = [t for t in top if t not in layout]
check("the Layout names every top-level folder", not unnamed, f"unnamed: {unnamed}")
for parent in ("include/trainer/", "src/"):
    unnamed = [d for d in subfolders(parent) if not re.search(rf"(include/trainer/|src/)?{d}/", layout)]
    check(f"the Layout names every folder of {parent}", not unnamed, f"unnamed: {unnamed}")
folders = subfolders("src/integrations")
unnamed = [d for d in folders if f"{d}/" not in layout]
check("the Layout names every integration folder", not unnamed, f"unnamed: {unnamed}")
without = [d for d in folders if not os.path.exists(os.path.join(SRC, "src/integrations", d, "integration.cpp"))]
check("every integration folder declares itself (integration.cpp)", not without, f"without: {without}")

print(f"{len(passed)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
