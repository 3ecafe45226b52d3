#!/usr/bin/env python3
"""Compares what two builds of `trainer` write and send with every tracker on (`--report_to all`).

    scripts/compare_report_to_all.py BEFORE_BIN AFTER_BIN MOCK_TRACKING_SERVER [--keep DIR]

Each binary trains the same small job once, in its own folder, with every integration that `all`
can add: the local ones, trackio, flyte (to a folder), and MLflow, W&B, Comet and ClearML online
against the mock services (build/tests/mock_tracking_server, which logs every request it handles).
Then it compares, and prints each difference:
  - the output tree: every file's path, with run ids, times and host names normalised;
  - trainer_state.json's log_history, times aside;
  - each mock service's requests: method, path (ids normalised) and the body's fields, in order,
    and the metric values each service received.
Exit status 0 when both agree, 1 when they differ. A refactoring that must not change behaviour
(issue 25) runs it with the build before and the build after.
"""
import base64, json, os, re, shutil, signal, subprocess, sys, tempfile, time

SERVICES = ("mlflow", "wandb", "comet", "clearml")
KEY = "0123456789abcdef0123456789abcdef01234567"
TIMEY = re.compile(r"(time|runtime|per_second|timestamp|_at$|^at$|created|started|heartbeat|duration|elapsed|date|host|pid|"
                   r"emissions|energy|power|cpu|ram|gpu)", re.I)


def normalise(text):
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"[0-9a-f]{16,}", "<hex>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[T_ ]?\d\d[-:]?\d\d[-:]?\d\d(\.\d+)?", "<time>", text)
    text = re.sub(r"[A-Z][a-z]{2}\d\d_\d\d-\d\d-\d\d", "<time>", text)  # TensorBoard's run folder
    text = re.sub(r"\d{9,}", "<n>", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = text.replace(os.uname().nodename, "<host>")
    text = re.sub(r"(<host>)\.\d+\.", r"\1.<pid>.", text)  # TensorBoard's file name: the writer's process
    return text


def make_data(work):
    import random
    random.seed(0)
    for name, n in (("train.csv", 400), ("eval.csv", 100)):
        with open(os.path.join(work, name), "w") as f:
            f.write("x1,x2,x3,label\n")
            for _ in range(n):
                xs = [random.uniform(-1, 1) for _ in range(3)]
                f.write(",".join(f"{x:.4f}" for x in xs) + f",{int(sum(xs) > 0)}\n")


def start_mock(mock, service, work):
    port_file = os.path.join(work, service + ".port")
    auth = ["--auth", "Basic " + base64.b64encode(b"AKEY:ASECRET").decode()] if service == "clearml" else []
    proc = subprocess.Popen([mock, "--service", service, "--port-file", port_file, *auth,
                             "--request-log", os.path.join(work, service + ".requests.jsonl"),
                             "--state-file", os.path.join(work, service + ".state.json")])
    deadline = time.time() + 30
    while not os.path.exists(port_file):
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit(f"mock {service} did not start")
        time.sleep(0.05)
    return proc, int(open(port_file).read())


def run(binary, mock, work):
    os.makedirs(work)
    make_data(work)
    mocks = {s: start_mock(mock, s, work) for s in SERVICES}
    url = {s: f"http://127.0.0.1:{p}" for s, (_, p) in mocks.items()}
    env = {k: v for k, v in os.environ.items() if not re.match(r"(MLFLOW|WANDB|COMET|CLEARML|TRAINS|TRACKIO|NEPTUNE|FLYTE|DVC|HF_|CODECARBON|TENSORBOARD)", k)}
    os.makedirs(os.path.join(work, "home"))
    env.update(HOME=os.path.join(work, "home"), MLFLOW_TRACKING_URI=url["mlflow"],
               WANDB_API_KEY=KEY, WANDB_BASE_URL=url["wandb"], WANDB_DIR=work, WANDB_RUN_ID="compare1", WANDB_PROJECT="compare",
               COMET_API_KEY=KEY, COMET_URL_OVERRIDE=url["comet"] + "/clientlib/", COMET_OFFLINE_DIRECTORY=os.path.join(work, "comet-offline"),
               CLEARML_API_HOST=url["clearml"], CLEARML_FILES_HOST=url["clearml"], CLEARML_API_ACCESS_KEY="AKEY", CLEARML_API_SECRET_KEY="ASECRET",
               TRACKIO_DIR=os.path.join(work, "trackio"), FLYTE_INTERNAL_EXECUTION_ID="compare", CODECARBON_MEASURE_POWER_SECS="0.05")
    args = [binary, "train", "--train_file", "train.csv", "--eval_file", "eval.csv", "--per_device_train_batch_size", "16",
            "--num_train_epochs", "2", "--logging_steps", "5", "--eval_strategy", "steps", "--eval_steps", "25",
            "--save_strategy", "steps", "--save_steps", "25", "--save_total_limit", "2", "--load_best_model_at_end",
            "--metric_for_best_model", "eval_accuracy", "--output_dir", "run", "--report_to", "all", "--run_name", "compare",
            "--flyte_checkpoint_path", "flyte-checkpoints", "--disable_tqdm", "true"]
    with open(os.path.join(work, "train.log"), "w") as log:
        status = subprocess.call(args, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    for proc, _ in mocks.values():
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return status


def tree(work):
    skip = {"train.log"} | {s + suffix for s in SERVICES for suffix in (".port", ".requests.jsonl", ".state.json")}
    out = []
    for root, dirs, files in os.walk(work):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), work)
            if rel not in skip:
                out.append(normalise(rel))
    return sorted(out)


def log_history(work):
    history = json.load(open(os.path.join(work, "run", "trainer_state.json")))["log_history"]
    return [{k: v for k, v in e.items() if not TIMEY.search(k)} for e in history]


def shape(value, key=""):
    """The body as its fields, with values that depend on the clock or on random ids left out."""
    if isinstance(value, dict):
        # A record about a timing ({"key": "train_runtime", "value": 1.2}): its numbers vary.
        timing = any(isinstance(v, str) and TIMEY.search(v) for v in value.values())
        return {k: "<varies>" if timing and isinstance(v, (int, float)) else shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [shape(v, key) for v in value]
    if TIMEY.search(key) or isinstance(value, str) and normalise(value) != value:
        return "<varies>"
    return value


def records(target, body):
    """What one request carries, one item per record: a sender batches records by time, so two runs
    may split the same records into other requests; the records and their order stay."""
    if target.endswith("/runs/log-batch"):  # MLflow
        return [(kind, r) for kind in ("metrics", "params", "tags") for r in body.get(kind, [])]
    if "/file_stream" in target:  # W&B: each line of each file, as JSON when it is
        out = []
        for name, f in sorted(body.get("files", {}).items()):
            for line in f.get("content", []):
                try:
                    out.append((name, json.loads(line)))
                except ValueError:
                    out.append((name, line))
        ending = {k: v for k, v in body.items() if k in ("complete", "exitcode")}
        return out + ([("end", ending)] if ending else [])
    if isinstance(body, dict) and set(body) == {"bytes"}:  # an upload (a zipped checkpoint): its files hold times
        return [{"upload": True}]
    if isinstance(body, list):  # ClearML's event lines
        return [("event", e) for e in body]
    return [body]


def requests(work, service):
    out = []
    for line in open(os.path.join(work, service + ".requests.jsonl")):
        r = json.loads(line)
        call = (r["method"], normalise(r["target"]), r["content_type"].split(";")[0])
        for record in records(r["target"], r["body"]):
            # W&B streams each file on its own: the order within a file is what must hold.
            stream = record[0] if "/file_stream" in r["target"] else ""
            out.append((stream,) + call + (json.dumps(shape(record), sort_keys=True),))
    out.sort(key=lambda item: item[0])  # stable: each stream keeps its order
    # The summary is W&B's latest state, streamed as often as a batch goes: only the last one counts.
    summaries = [item for item in out if item[0] == "wandb-summary.json"]
    return [item for item in out if item[0] != "wandb-summary.json"] + summaries[-1:]


def first_difference(name, a, b):
    if a == b:
        print(f"  same: {name} ({len(a)} items)")
        return 0
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            sx, sy = str(x), str(y)
            at = next((j for j, (cx, cy) in enumerate(zip(sx, sy)) if cx != cy), min(len(sx), len(sy)))
            start = max(0, at - 150)
            print(f"  DIFFERENT: {name}, item {i}, at character {at}:\n    before: ...{sx[start:at + 250]}\n    after:  ...{sy[start:at + 250]}")
            return 1
    print(f"  DIFFERENT: {name}: {len(a)} items before, {len(b)} after; first extra: {str((a + b)[min(len(a), len(b))])[:400]}")
    return 1


def main():
    argv = sys.argv[1:]
    keep = None
    if "--keep" in argv:
        keep = argv[argv.index("--keep") + 1]
        del argv[argv.index("--keep"):argv.index("--keep") + 2]
    if len(argv) != 3:
        raise SystemExit(__doc__)
    before_bin, after_bin, mock = (os.path.abspath(a) for a in argv)
    top = keep or tempfile.mkdtemp(prefix="compare-report-to-all-")
    dirs = {"before": os.path.join(top, "before"), "after": os.path.join(top, "after")}
    for side, binary in (("before", before_bin), ("after", after_bin)):
        status = run(binary, mock, dirs[side])
        print(f"{side}: {binary} exited {status}")
        if status != 0:
            print(open(os.path.join(dirs[side], "train.log")).read()[-2000:])
            return 1
    differences = first_difference("output tree", tree(dirs["before"]), tree(dirs["after"]))
    differences += first_difference("log_history", log_history(dirs["before"]), log_history(dirs["after"]))
    for s in SERVICES:
        differences += first_difference(f"{s} requests", requests(dirs["before"], s), requests(dirs["after"], s))
    if not keep:
        shutil.rmtree(top)
    print("the two builds agree" if differences == 0 else f"{differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
