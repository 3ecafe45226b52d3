#!/usr/bin/env python3
"""An independent reader of W&B `.wandb` transaction logs, written from the format's description,
that checks what `wandb sync` needs record by record.

usage: read_wandb.py RUN_DIR [--history-out FILE] [--allow-no-exit]

RUN_DIR is an offline-run-* folder. Checks: the header (":W&B", 0xBEE1, version 0); LevelDB-log
chunks in 32 KiB blocks with an unmasked zlib CRC-32 over the type byte and the data; every record
decodes and has its record type; a Run record (run_id, project, start_time) before any history;
history items with _step, _runtime, _timestamp; _step 0, 1, 2, ...; summary records; one Exit
record (unless --allow-no-exit: a killed run) and no history or summary after it; files/ holds
config.yaml, wandb-summary.json and wandb-metadata.json; each Artifact record's manifest entries
point at files (local_path) of the stated size and base64 MD5, and its digest is the SDK's manifest
digest (MD5 of "wandb-artifact-manifest-v1\n" and "path:digest\n" in path order). A torn last record (a killed writer) ends
the log cleanly; a bad checksum in the middle is an error. Prints a JSON summary on stdout.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import sys
import zlib

BLOCK = 32768
# Record's oneof record_type fields (wandb_internal.proto).
RECORD_TYPES = {2: "history", 3: "summary", 4: "output", 5: "config", 6: "files", 7: "stats", 8: "artifact",
                9: "tbrecord", 10: "alert", 11: "telemetry", 12: "metric", 13: "output_raw", 17: "run", 18: "exit",
                20: "final", 21: "header", 22: "footer", 23: "preempting", 24: "noop_link_artifact",
                25: "use_artifact", 26: "environment", 27: "output_logger", 100: "request"}


def fail(message):
    print("read_wandb: " + message, file=sys.stderr)
    sys.exit(1)


def varint(data, pos):
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(data):
    """(field number, wire type, value) of a protobuf message; value is an int or bytes."""
    pos, out = 0, []
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(data, pos)
            if pos + n > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        out.append((number, wire, value))
    return out


def first(message, number, default=None):
    for n, _, v in fields(message):
        if n == number:
            return v
    return default


def items(message, number):
    """HistoryItem/SummaryItem/ConfigItem {key = 1; nested_key = 2; value_json = 16} under `number`."""
    out = {}
    for n, _, v in fields(message):
        if n != number:
            continue
        key = first(v, 1, b"").decode()
        nested = [x.decode() for m, _, x in fields(v) if m == 2]
        out["/".join(nested) if nested else key] = json.loads(first(v, 16, b"null").decode())
    return out


def artifact(body, index):
    """An ArtifactRecord checked as `wandb sync` will upload it."""
    name, kind = first(body, 5, b"").decode(), first(body, 4, b"").decode()
    aliases = [v.decode() for n, _, v in fields(body) if n == 11]
    manifest = first(body, 12, b"")
    if first(manifest, 1, 0) != 1 or first(manifest, 2, b"").decode() != "wandb-storage-policy-v1":
        fail(f"record {index}: artifact {name}: manifest version/storage policy")
    digest_input, files = b"wandb-artifact-manifest-v1\n", {}
    entries = sorted((first(v, 1, b"").decode(), v) for n, _, v in fields(manifest) if n == 4)
    for path, entry in entries:
        digest, size, local = first(entry, 2, b"").decode(), first(entry, 4, 0), first(entry, 6, b"").decode()
        if not os.path.isfile(local):
            fail(f"record {index}: artifact {name}: {path}: local_path {local} is not a file")
        with open(local, "rb") as f:
            data = f.read()
        if len(data) != size or base64.b64encode(hashlib.md5(data).digest()).decode() != digest:
            fail(f"record {index}: artifact {name}: {path}: size or MD5 does not match {local}")
        digest_input += f"{path}:{digest}\n".encode()
        files[path] = size
    if first(body, 6, b"").decode() != hashlib.md5(digest_input).hexdigest():
        fail(f"record {index}: artifact {name}: digest is not the manifest's")
    if not name or kind != "model" or "latest" not in aliases:
        fail(f"record {index}: artifact {name!r} of type {kind!r} with aliases {aliases}")
    return {"name": name, "aliases": aliases, "files": files}


def read_records(data):
    if data[:4] != b":W&B" or data[4:6] != b"\xe1\xbe" or data[6:7] != b"\x00":
        fail("invalid W&B identifier (header)")
    pos, partial, records, torn = 7, None, [], False
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left
            continue
        if pos + 7 > len(data):
            torn = True
            break
        crc = int.from_bytes(data[pos:pos + 4], "little")
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        if crc == 0 and length == 0 and kind == 0:
            pos += left
            continue
        if length + 7 > left:
            fail(f"chunk at {pos} crosses its block")
        if pos + 7 + length > len(data):
            torn = True
            break
        chunk = data[pos + 7:pos + 7 + length]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            if pos + 7 + length == len(data):  # the last chunk, cut short by a kill mid-write
                torn = True
                break
            fail(f"record checksum is invalid at offset {pos}")
        if kind == 1:
            records.append(chunk)
        elif kind == 2:
            partial = chunk
        elif kind == 3 and partial is not None:
            partial += chunk
        elif kind == 4 and partial is not None:
            records.append(partial + chunk)
            partial = None
        else:
            fail(f"chunk type {kind} out of order at offset {pos}")
        pos += 7 + length
    return records, torn or partial is not None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--history-out")
    p.add_argument("--allow-no-exit", action="store_true")
    args = p.parse_args()
    folder = os.path.basename(os.path.normpath(args.run_dir))
    m = re.fullmatch(r"offline-run-\d{8}_\d{6}-([a-z0-9_-]+?)(-\d+)?", folder)
    if not m:
        fail(f"{folder}: not an offline-run-<YYYYMMDD_HHMMSS>-<id> folder")
    logs = [f for f in os.listdir(args.run_dir) if f.endswith(".wandb")]
    if logs != [f"run-{m.group(1)}.wandb"]:
        fail(f"expected exactly run-{m.group(1)}.wandb in {folder}, found {logs}")
    with open(os.path.join(args.run_dir, logs[0]), "rb") as f:
        records, torn = read_records(f.read())
    run, history, summary, exits, config, files, artifacts = None, [], {}, [], {}, [], []
    for index, raw in enumerate(records):
        try:
            decoded = fields(raw)
        except ValueError as e:
            fail(f"record {index} does not decode: {e}")
        types = [n for n, _, _ in decoded if n in RECORD_TYPES]
        if len(types) != 1:
            fail(f"record {index} has {len(types)} record types (needs exactly one)")
        kind = RECORD_TYPES[types[0]]
        body = first(raw, types[0])
        if kind in ("history", "summary", "stats", "output_raw") and exits:
            fail(f"record {index}: {kind} after the Exit record (sync drops it)")
        if kind == "run":
            run = {"run_id": first(body, 1, b"").decode(), "entity": first(body, 2, b"").decode(),
                   "project": first(body, 3, b"").decode(), "display_name": first(body, 8, b"").decode(),
                   "resumed": bool(first(body, 18, 0)), "starting_step": first(body, 14, 0)}
            if first(body, 17) is None:
                fail("the Run record has no start_time")
            config = items(first(body, 4, b""), 1)
        elif kind == "history":
            if run is None:
                fail(f"record {index}: history before the Run record")
            row = items(body, 1)
            for key in ("_step", "_runtime", "_timestamp"):
                if key not in row:
                    fail(f"record {index}: a history row without {key}")
            history.append(row)
        elif kind == "summary":
            summary.update(items(body, 1))
        elif kind == "exit":
            exits.append(first(body, 1, 0))
        elif kind == "artifact":
            artifacts.append(artifact(body, index))
        elif kind == "files":
            files += [first(v, 1, b"").decode() for n, _, v in fields(body) if n == 1]
    if run is None:
        fail("didn't find run info (no Run record)")
    if run["run_id"] != m.group(1) or not run["project"]:
        fail(f"the Run record names run {run['run_id']!r} in project {run['project']!r}")
    steps = [row["_step"] for row in history]
    start = run["starting_step"]
    if steps != list(range(start, start + len(steps))):
        fail(f"_step is not {start}, {start + 1}, ...: {steps[:10]}")
    if history and not summary:
        fail("history without any summary record")
    if len(exits) > 1:
        fail(f"{len(exits)} Exit records")
    if not exits and not args.allow_no_exit:
        fail("no Exit record (sync would mark the run failed)")
    exit_code = exits[0] if exits else None
    if exit_code is not None and exit_code < 0:
        fail(f"exit code {exit_code}")
    for name in ("config.yaml", "wandb-summary.json", "wandb-metadata.json"):
        if not os.path.isfile(os.path.join(args.run_dir, "files", name)):
            fail(f"files/{name} is missing")
    if args.history_out:
        with open(args.history_out, "w") as f:
            json.dump(history, f)
    print(json.dumps({"run": run, "records": len(records), "history_rows": len(history), "summary": summary,
                      "exit_code": exit_code, "torn_tail": torn, "config_keys": len(config), "files": files,
                      "artifacts": artifacts}))


if __name__ == "__main__":
    main()
