#!/usr/bin/env bash
# `--report_to all` end to end: one training run, then every tracker's files are checked by readers
# that share no code with the writers (Python for TensorBoard, dvclive and the CSVs; headless
# Chromium for report.html), and a tracker that cannot write leaves training and the others alone.
# Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR to the source tree}
source "$(dirname "$0")/lib.sh"
export PY SRC work
make_sign_dataset 600 200

flags=(--train_file train.csv --eval_file eval.csv --per_device_train_batch_size 16 --num_train_epochs 4
       --logging_steps 5 --eval_strategy steps --eval_steps 25 --save_strategy steps --save_steps 25
       --metric_for_best_model eval_accuracy --load_best_model_at_end --save_total_limit 2 --learning_rate 0.01)

# The run: CodeCarbon measures every 20 ms so the file gets interval rows as well as the last;
# DVCLive keeps the best model as an artifact.
HF_DVCLIVE_LOG_MODEL=true CODECARBON_MEASURE_POWER_SECS=0.02 "$BIN" train "${flags[@]}" --output_dir run --report_to all >train.log 2>&1
status=$?
check "training with every tracker exits 0" test $status -eq 0 || { tail -20 train.log; }

check "TensorBoard: every CRC valid, every logged number at its step" $PY - <<'PYEOF'
import glob, json, math, os, sys
sys.path.insert(0, os.path.join(os.environ["SRC"], "tests", "integrations"))
import read_tfevents
# One directory: the training run's file, and a second one for the evaluation the program runs
# after training (the original re-creates its writer for a log after on_train_end the same way).
files = sorted(glob.glob("run/runs/*/events.out.tfevents.*"), key=lambda f: int(f.rsplit(".", 1)[1]))
assert len(files) == 2 and len({os.path.dirname(f) for f in files}) == 1, files
events = []
for f in files:
    file_events = read_tfevents.read(f)  # raises on any bad CRC or truncated record
    assert file_events[0]["file_version"] == "brain.Event:2"
    events += file_events
scalars = {}  # (tag, step) -> values; the end-of-training and the program's evaluation share a step
texts = set()
for e in events:
    for v in e["values"]:
        if "simple_value" in v:
            scalars.setdefault((v["tag"], e["step"]), []).append(v["simple_value"])
        if "tensor" in v:
            texts.add(v["tag"])
assert {"args/text_summary", "model_config/text_summary"} <= texts, texts
history = json.load(open("run/trainer_state.json"))["log_history"]
def tag(key):
    if key.startswith("eval_"): return "eval/" + key[5:]
    if key.startswith("test_"): return "test/" + key[5:]
    return "train/" + key
checked = 0
for entry in history:
    for key, value in entry.items():
        if key == "step" or not isinstance(value, (int, float)):
            continue
        got = scalars.get((tag(key), entry["step"]), [])
        assert any(math.isclose(g, value, rel_tol=1e-6, abs_tol=1e-30) for g in got), (key, entry["step"], got, value)
        checked += 1
assert checked > 50, checked
print("  %d values checked in %d events" % (checked, len(events)))
PYEOF

check "dvclive: params, metrics and one plot row per log" $PY - <<'PYEOF'
import csv, json, yaml
history = json.load(open("run/trainer_state.json"))["log_history"]
params = yaml.safe_load(open("dvclive/params.yaml"))
assert params["output_dir"] == "run" and params["report_to"] == ["all"], params
metrics = json.load(open("dvclive/metrics.json"))
assert "loss" in metrics and "accuracy" in metrics["eval"], metrics
rows = list(csv.reader(open("dvclive/plots/metrics/loss.tsv"), delimiter="\t"))
assert rows[0] == ["step", "loss"], rows[0]
losses = [e["loss"] for e in history if "loss" in e]
assert [float(r[1]) for r in rows[1:]] == losses, (rows[1:4], losses[:3])
evals = list(csv.reader(open("dvclive/plots/metrics/eval/accuracy.tsv"), delimiter="\t"))
assert evals[0] == ["step", "accuracy"] and len(evals) - 1 == sum("eval_accuracy" in e for e in history)
assert metrics["step"] == len(history) - 1, (metrics["step"], len(history))  # DVCLive counts logs
assert open("dvc.yaml").read().startswith("params:\n- dvclive/params.yaml\n")
PYEOF

check "dvclive: the best model is an artifact that dvc.yaml lists" $PY - <<'PYEOF'
import json, struct
with open("dvclive/artifacts/best/model.safetensors", "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(n))
assert any(k.endswith("weight") for k in header), list(header)[:5]
assert "artifacts:\n  best:\n    path: dvclive/artifacts/best\n    type: model\n" in open("dvc.yaml").read()
PYEOF

check "log_history JSONL and CSV hold every entry of the training run" $PY - <<'PYEOF'
import csv, json
history = json.load(open("run/trainer_state.json"))["log_history"]
lines = [json.loads(l) for l in open("run/log_history.jsonl")]
assert lines == history, (len(lines), len(history))
rows = list(csv.DictReader(open("run/log_history.csv")))
assert len(rows) == len(lines)
PYEOF

check "emissions.csv: CodeCarbon 3.3 header, interval rows and a last row of one run" $PY - <<'PYEOF'
import csv
header = ("timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
          "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,"
          "region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,"
          "gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,"
          "gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue")
lines = open("run/emissions.csv").read().splitlines()
assert lines[0] == header, lines[0]
rows = list(csv.DictReader(lines))
assert len(rows) >= 2, len(rows)
assert len({r["run_id"] for r in rows}) == 1
last = rows[-1]
energy = float(last["energy_consumed"])
assert energy > 0 and abs(float(last["emissions"]) - energy * 475 / 1000) < 1e-12, last
PYEOF

check "report.html renders in headless Chromium with every curve drawn" \
  $PY "$SRC/tests/integrations/check_report_render.py" run/report.html report.png \
  "train loss=#1f77b4" "eval loss=#d62728" "learning rate=#2ca02c" "grad norm=#9467bd" "accuracy=#ff7f0e"

check "report.html names the best checkpoint and the final metrics" $PY - <<'PYEOF'
import json
state = json.load(open("run/trainer_state.json"))
html = open("run/report.html").read()
best = '<th>checkpoint</th><td class="num">%s</td>' % state["best_model_checkpoint"]
assert best in html, best
assert "<th>train_loss</th>" in html and "<th>eval_accuracy</th>" in html
assert "Finished at step %d of %d" % (state["global_step"], state["max_steps"]) in html
PYEOF

check "trainer report rebuilds the page from the finished run" bash -c '
  rm run/report.html && "'"$BIN"'" report run >report.out 2>&1 && grep -q "run/report.html" report.out &&
  grep -q "data-series=\"train loss\" data-points=\"30\"" run/report.html && grep -q "Finished at step 152 of 152" run/report.html'

check "trainer report on a directory with no run says so" bash -c '
  mkdir -p empty && ! "'"$BIN"'" report empty >report.out 2>&1 && grep -q "no trainer_state.json in empty" report.out'

# Trackers that cannot write: TensorBoard's directory is under a file (not writable), and DVCLive's
# loss plot is on a full disk (/dev/full answers every write with ENOSPC).
mkdir -p broken dvclive/plots/metrics
echo "not a directory" >broken/file
rm -f dvclive/plots/metrics/loss.tsv
ln -s /dev/full dvclive/plots/metrics/loss.tsv
TENSORBOARD_LOGGING_DIR=$work/broken/file/tb DVCLIVE_RESUME=1 "$BIN" train "${flags[@]}" --num_train_epochs 2 \
  --output_dir broken --report_to tensorboard dvclive log_history report >broken.log 2>&1
status=$?
check "a tracker that cannot write: training goes on and ends well" test $status -eq 0
check "... it is reported once per problem, with the path and the reason" bash -c '
  test $(grep -c "tensorboard: cannot create TensorBoard log directory $work/broken/file/tb: Not a directory" broken.log) -eq 1 &&
  test $(grep -c "dvclive: cannot write dvclive/plots/metrics/loss.tsv: No space left on device" broken.log) -eq 1 &&
  grep -q "write(s) failed during this run" broken.log' || sed 's/^/  | /' broken.log | grep -i warn
check "... and the other trackers are unaffected" bash -c '
  test -s broken/report.html && test -s broken/log_history.csv && test $(grep -c . dvclive/plots/metrics/learning_rate.tsv) -gt 40 &&
  ls broken/checkpoint-*/model.safetensors >/dev/null'

summary
