#!/usr/bin/env bash
# --report_to comet_ml end to end against the mock Comet REST API with each fault of the issue:
# every run exits 0 and the experiment ends with every number of log_history exactly once; a
# SIGKILL and a resume keep that in the same experiment; an offline experiment (no key, or
# COMET_START_ONLINE=0) is sent later by `trainer sync`. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SERVER=${MOCK_TRACKING_SERVER:?set MOCK_TRACKING_SERVER to the mock server executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
KEY=cometkey0123456789abcdefSECRET
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to comet_ml)
for v in COMET_MODE COMET_START_ONLINE COMET_PROJECT_NAME COMET_WORKSPACE COMET_API_KEY COMET_EXPERIMENT_KEY COMET_URL_OVERRIDE \
         COMET_LOG_ASSETS; do
  unset "$v"
done
export COMET_OFFLINE_DIRECTORY=$work/comet-offline
port=
server_pid=

start_server() {  # [PORT]
  mock_start comet "$KEY" "${1:-}"
  online_env=(env COMET_API_KEY=$KEY COMET_URL_OVERRIDE=http://127.0.0.1:$port/clientlib/)
}

# The variables that point a run at the mock (set by start_server). A process started in the
# background must be this `env` itself, not a shell function: `kill -9 $!` must reach the trainer.
online_env=()
online() { "${online_env[@]}" "$@"; }
compare() { $PY "$SRC/tests/cli/compare_comet.py" state.json "$@"; }

train_with_fault() {  # NAME FAULT_JSON [extra flags]
  local name=$1 f=$2
  shift 2
  start_server
  mock_fault "$f"
  online "$BIN" "${common[@]}" --output_dir "$name" "$@" > "$name.log" 2>&1
  local status=$?
  mock_stop
  [[ $status -eq 0 ]] || { echo "exit $status"; tail -5 "$name.log"; return 1; }
  if grep -qa "$KEY" "$name.log" "$name"/tracking/comet_ml/*; then echo "the API key is in a file it wrote"; return 1; fi
  local rejected=()
  [[ -s "$name/tracking/comet_ml/rejected.jsonl" ]] && rejected=(--rejected "$name/tracking/comet_ml/rejected.jsonl")
  [[ $f != *reject_next* || ${#rejected[@]} -gt 0 ]] || { echo "the 400 left nothing in rejected.jsonl"; return 1; }
  compare "$name/trainer_state.json" "${rejected[@]}"
}

check "server up" train_with_fault up '{}'
check "HTTP 500s" train_with_fault http500 '{"fail_next": 4}'
check "429 with Retry-After" train_with_fault http429 '{"fail_next": 2, "fail_status": 429, "retry_after_s": 1}'
check "0.2 s latency per request" train_with_fault slow '{"latency_ms": 200}' --tracker_flush_timeout 120
check "connection reset mid-request" train_with_fault reset '{"reset_next": 3}'
check "a permanent 400 (the record kept in rejected.jsonl)" train_with_fault rejected '{"reject_next": 2, "reject_path": "metric"}'

down_mid_run() {
  start_server
  train_through_outage 1 8000 "${online_env[@]:1}" -- --max_steps 400 --save_steps 100 --eval_steps 100 || { mock_stop; return 1; }
  mock_stop
  compare down_mid/trainer_state.json
}
check "server down for 8 s mid-run" down_mid_run

kill_and_resume() {
  start_server
  kill_mid_run_then_resume "${online_env[@]:1}" || { mock_stop; return 1; }
  mock_stop
  compare killed/trainer_state.json --timings-may-differ
}
check "SIGKILL mid-run, then resume: exactly once, the same experiment" kill_and_resume

offline_then_sync() {
  rm -rf "$COMET_OFFLINE_DIRECTORY"
  COMET_API_KEY=$KEY COMET_START_ONLINE=0 "$BIN" "${common[@]}" --output_dir offline > offline.log 2>&1 || { tail -5 offline.log; return 1; }
  grep -q "trainer sync $COMET_OFFLINE_DIRECTORY/" offline.log || { echo "no sync command printed"; tail -3 offline.log; return 1; }
  if grep -rqa "$KEY" "$COMET_OFFLINE_DIRECTORY"; then echo "the API key is in the offline journal"; return 1; fi
  start_server
  online "$BIN" sync "$COMET_OFFLINE_DIRECTORY" > sync.log 2>&1 || { echo "sync failed"; cat sync.log; mock_stop; return 1; }
  online "$BIN" sync "$COMET_OFFLINE_DIRECTORY" > sync2.log 2>&1
  grep -q "everything was sent already" sync2.log || { echo "second sync sent again"; cat sync2.log; mock_stop; return 1; }
  mock_stop
  compare offline/trainer_state.json
}
check "offline, then trainer sync COMET_OFFLINE_DIRECTORY: exactly once" offline_then_sync

replay() {
  "$BIN" "${common[@]}" --report_to none --output_dir plain > plain.log 2>&1 || return 1
  start_server
  online "$BIN" sync plain --report_to comet_ml > replay.log 2>&1 || { echo "replay failed"; cat replay.log; mock_stop; return 1; }
  mock_stop
  compare plain/trainer_state.json
}
check "trainer sync --report_to comet_ml replays a run that did not use Comet" replay

summary
