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
import json, os, re, shutil, signal, subprocess, sys, tempfile, time

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
    text = text.replace(os.uname().nodename, "<host>")
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
    proc = subprocess.Popen([mock, "--service", service, "--port-file", port_file,
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
            "--flyte_checkpoint_path", os.path.join(work, "flyte-checkpoints"), "--disable_tqdm", "true"]
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
        return {k: shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v, key) for v in value]
    if TIMEY.search(key) or isinstance(value, str) and normalise(value) != value:
        return "<varies>"
    return value


def requests(work, service):
    out = []
    for line in open(os.path.join(work, service + ".requests.jsonl")):
        r = json.loads(line)
        out.append((r["method"], normalise(r["target"]), r["content_type"].split(";")[0], json.dumps(shape(r["body"]), sort_keys=True)))
    return out


def first_difference(name, a, b):
    if a == b:
        print(f"  same: {name} ({len(a)} items)")
        return 0
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print(f"  DIFFERENT: {name}, item {i}:\n    before: {str(x)[:400]}\n    after:  {str(y)[:400]}")
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
