#!/usr/bin/env bash
# What the remote trackers cost the training loop, against --report_to none in the same process:
# bench/tracker_overhead with TRACKERS=<one> (interleaved pairs, logging every 10 steps) for MLflow,
# W&B and Comet with the mock server of their tests up, MLflow also with its server down and
# answering in 5 s, and the peak memory of long runs that log every step to a server that is down
# (the one sender's memory is bounded: beyond 10,000 records they wait in the journal).
#   bench/remote_trackers.sh [BUILD_DIR]     prints table rows: | benchmark | measured | ratio |
# Also the trackers of "Remote trackers (3)": Trackio's database, Neptune's offline log, Flyte's
# checkpoint sync (a checkpoint every 250 steps in both arms, synced to a folder).
# SERVICES="mlflow wandb comet_ml clearml trackio neptune flyte" chooses which; ROUNDS, STEPS as tracker_overhead's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRAINER_PYTHON:-$root/.venv/bin/python}  # the torch of .venv, the same version as the LibTorch
build=${1:-$root/build}
rounds=${ROUNDS:-7}
steps=${STEPS:-2000}
services=${SERVICES:-mlflow wandb comet_ml clearml trackio neptune flyte}
cmake --build "$build" --target tracker_overhead mock_tracking_server trainer_cli >/dev/null
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null; rm -rf "$work" /tmp/trainer-tracker-bench' EXIT
wandb_key=0123456789abcdef0123456789abcdef01234567
comet_key=cometbenchkey

start_server() {  # SERVICE AUTH
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -f "$work/port"
  "$build/tests/mock_tracking_server" --service "$1" --auth "$2" --port-file "$work/port" &
  server=$!
  for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
  port=$(cat "$work/port")
}
fault() {
  "$python" -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], sys.argv[2].encode(), {"Content-Type": "application/json"}))' \
    "http://127.0.0.1:$port/__test__/fault" "$1"
}
row() {  # LABEL (reads tracker_overhead's JSON line from stdin)
  tail -1 > "$work/row.json"
  "$python" - "$1" "$work/row.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"| MLP steps/s, logging every 10 steps, {sys.argv[1]} vs --report_to none (median of {r['rounds']} pairs, "
      f"range {r['ratio_min']:.3f}-{r['ratio_max']:.3f}) | {r['trackers_steps_per_second']:.1f} vs {r['none_steps_per_second']:.1f} "
      f"| {r['ratio']:.3f} |")
# The sender thread ends with each run, before the bench reads the threads' clocks: only the
# training thread's time inside the tracker's events is counted (the time training can lose to it).
print(f"| {sys.argv[1]}: CPU time of the training thread inside the tracker's events, per second of training "
      f"| {r['loop_cpu_per_second'] * 1000:.2f} ms/s | {r['loop_cpu_per_second']:.4f} |")
PYEOF
}
overhead() {  # TRACKER LABEL, with the tracker's variables in the environment
  rm -rf /tmp/trainer-tracker-bench
  TRACKERS=$1 WANDB_DIR=$work "$build/bench/tracker_overhead" mlp "$rounds" "$steps" 2>/dev/null | row "$2"
}

for service in $services; do
  case $service in
    mlflow)
      start_server mlflow ""
      MLFLOW_TRACKING_URI=http://127.0.0.1:$port overhead mlflow "MLflow, server up"
      MLFLOW_TRACKING_URI=http://127.0.0.1:1 overhead mlflow "MLflow, server down"
      fault '{"latency_ms": 5000}'
      MLFLOW_TRACKING_URI=http://127.0.0.1:$port overhead mlflow "MLflow, answering in 5 s" ;;
    wandb)
      start_server wandb "Basic $(printf 'api:%s' "$wandb_key" | base64 -w0)"
      WANDB_API_KEY=$wandb_key WANDB_BASE_URL=http://127.0.0.1:$port overhead wandb "W&B online, server up"
      WANDB_MODE=offline overhead wandb "W&B offline (.wandb file and journal)" ;;
    comet_ml)
      start_server comet "$comet_key"
      COMET_API_KEY=$comet_key COMET_URL_OVERRIDE=http://127.0.0.1:$port/ overhead comet_ml "Comet online, server up" ;;
    clearml)
      start_server clearml "Basic $(printf 'benchkey:benchsecret' | base64 -w0)"
      CLEARML_API_HOST=http://127.0.0.1:$port CLEARML_API_ACCESS_KEY=benchkey CLEARML_API_SECRET_KEY=benchsecret \
        CLEARML_CONFIG_FILE=/dev/null overhead clearml "ClearML online, server up" ;;
    trackio) TRACKIO_DIR=$work/trackio overhead trackio "Trackio (SQLite project database)" ;;
    neptune) NEPTUNE_DATA_DIRECTORY=$work/neptune overhead neptune "Neptune (offline operation log)" ;;
    flyte)
      BENCH_SAVE_STEPS=250 BENCH_FLYTE_CHECKPOINT_PATH=$work/flyte-dest overhead flyte \
        "Flyte, a checkpoint every 250 steps synced to a folder (both arms save)" ;;
    *) echo "remote_trackers.sh: unknown service $service" >&2; exit 2 ;;
  esac
done

# Peak memory: whole processes, logging every step; MLflow's server is down for the whole run.
[[ " $services " == *" mlflow "* ]] || exit 0
peak() {  # STEPS REPORT_TO -> peak RSS in MiB of one training process
  "$python" - "$build/trainer" "$1" "$2" "$work/out-$1-$2" <<'PYEOF'
import os, resource, subprocess, sys
binary, steps, report_to, out = sys.argv[1:5]
env = dict(os.environ, MLFLOW_TRACKING_URI="http://127.0.0.1:1")
subprocess.run([binary, "train", "--max_steps", steps, "--logging_steps", "1", "--eval_strategy", "no",
                "--save_strategy", "no", "--disable_tqdm", "--report_to", report_to, "--tracker_flush_timeout", "0",
                "--output_dir", out], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
PYEOF
}
none=$(peak 30000 none)
short=$(peak 5000 mlflow)
long=$(peak 30000 mlflow)
records=$(grep -c '"record"' "$work/out-30000-mlflow/tracking/mlflow/journal.jsonl")
"$python" -c "
import sys
none, short, long, records = map(float, sys.argv[1:5])
print(f'| peak RSS, logging every step, MLflow server down: 30000 steps ({int(records)} records, all in the journal) vs 5000 steps | {long:.0f} MiB vs {short:.0f} MiB | {long / short:.3f} |')
print(f'| peak RSS, 30000 steps: MLflow (server down) vs --report_to none | {long:.0f} MiB vs {none:.0f} MiB | {long / none:.3f} |')
" "$none" "$short" "$long" "$records"
