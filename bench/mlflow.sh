#!/usr/bin/env bash
# What MLflow costs the training loop, with its server up, down, and answering in 5 s, against
# --report_to none: bench/tracker_overhead with TRACKERS=mlflow (interleaved pairs in one process,
# logging every 10 steps), and the peak memory of long runs that log every step to a server that
# is down (the sender's memory is bounded: beyond 10,000 records they wait in the journal).
#   bench/mlflow.sh [BUILD_DIR]     prints table rows: | benchmark | measured | ratio |
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${ROUNDS:-7}
steps=${STEPS:-2000}
cmake --build "$build" --target tracker_overhead mock_tracking_server trainer_cli >/dev/null
work=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$work" /tmp/trainer-tracker-bench' EXIT
"$build/tests/mock_tracking_server" --service mlflow --port-file "$work/port" &
server=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
port=$(cat "$work/port")
fault() {
  /usr/bin/python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], sys.argv[2].encode(), {"Content-Type": "application/json"}))' \
    "http://127.0.0.1:$port/__test__/fault" "$1"
}
row() {  # LABEL (reads tracker_overhead's JSON line from stdin)
  tail -1 > "$work/row.json"
  /usr/bin/python3 - "$1" "$work/row.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"| MLP steps/s, logging every 10 steps, MLflow {sys.argv[1]} vs --report_to none (median of {r['rounds']} pairs, "
      f"range {r['ratio_min']:.3f}-{r['ratio_max']:.3f}) | {r['trackers_steps_per_second']:.1f} vs {r['none_steps_per_second']:.1f} "
      f"| {r['ratio']:.3f} |")
# The sender thread ends with each run, before the bench reads the threads' clocks: only the
# training thread's time inside MLflow's events is counted (the time training can lose to it).
print(f"| MLflow {sys.argv[1]}: CPU time of the training thread inside MLflow's events, per second of training "
      f"| {r['loop_cpu_per_second'] * 1000:.2f} ms/s | {r['loop_cpu_per_second']:.4f} |")
PYEOF
}
rm -rf /tmp/trainer-tracker-bench
MLFLOW_TRACKING_URI=http://127.0.0.1:$port TRACKERS=mlflow "$build/bench/tracker_overhead" mlp "$rounds" "$steps" 2>/dev/null | row "server up"
rm -rf /tmp/trainer-tracker-bench
MLFLOW_TRACKING_URI=http://127.0.0.1:1 TRACKERS=mlflow "$build/bench/tracker_overhead" mlp "$rounds" "$steps" 2>/dev/null | row "server down"
rm -rf /tmp/trainer-tracker-bench
fault '{"latency_ms": 5000}'
MLFLOW_TRACKING_URI=http://127.0.0.1:$port TRACKERS=mlflow "$build/bench/tracker_overhead" mlp "$rounds" "$steps" 2>/dev/null | row "answering in 5 s"

# Peak memory: whole processes, logging every step; the server is down for the whole run.
peak() {  # STEPS REPORT_TO -> peak RSS in MiB of one training process
  /usr/bin/python3 - "$build/trainer" "$1" "$2" "$work/out-$1-$2" <<'PYEOF'
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
/usr/bin/python3 -c "
import sys
none, short, long, records = map(float, sys.argv[1:5])
print(f'| peak RSS, logging every step, MLflow server down: 30000 steps ({int(records)} records, all in the journal) vs 5000 steps | {long:.0f} MiB vs {short:.0f} MiB | {long / short:.3f} |')
print(f'| peak RSS, 30000 steps: MLflow (server down) vs --report_to none | {long:.0f} MiB vs {none:.0f} MiB | {long / none:.3f} |')
" "$none" "$short" "$long" "$records"
