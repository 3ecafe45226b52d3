#!/usr/bin/env bash
# --report_to wandb end to end: offline runs read back by an independent .wandb reader (also after a
# SIGKILL), and online runs against the mock W&B server with each fault of the issue. Every run
# exits 0 and the server (or the file) ends with one row per log_history entry, exactly once, in
# order; a SIGKILL and a resume continue the same run; `trainer sync` sends an offline run and one
# whose server never came back. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SERVER=${MOCK_TRACKING_SERVER:?set MOCK_TRACKING_SERVER to the mock server executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
KEY=0123456789abcdef0123456789abcdef01234567
AUTH="Basic $(printf 'api:%s' "$KEY" | base64 -w0)"
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to wandb)
for v in WANDB_MODE WANDB_API_KEY WANDB_BASE_URL WANDB_PROJECT WANDB_ENTITY WANDB_RUN_ID WANDB_RESUME WANDB_LOG_MODEL; do
  unset "$v"
done
export WANDB_DIR=$work
port=
server_pid=

start_server() {  # [PORT]
  mock_start wandb "$AUTH" "${1:-}"
  online_env=(env WANDB_API_KEY=$KEY WANDB_BASE_URL=http://127.0.0.1:$port)
}

# The variables that point a run at the mock (set by start_server). A process started in the
# background must be this `env` itself, not a shell function: `kill -9 $!` must reach the trainer.
online_env=()
online() { "${online_env[@]}" "$@"; }

offline_dir() {  # the newest offline run folder
  ls -d "$work"/wandb/offline-run-* | sort | tail -1
}

offline_run() {
  rm -rf wandb
  WANDB_MODE=offline WANDB_API_KEY=$KEY "$BIN" "${common[@]}" --output_dir offline > offline.log 2>&1 || { tail -5 offline.log; return 1; }
  grep -q "wandb sync .*offline-run-" offline.log || { echo "no wandb sync hint"; tail -3 offline.log; return 1; }
  $PY "$SRC/tests/integrations/read_wandb.py" "$(offline_dir)" --history-out rows.json > read.json || return 1
  $PY "$SRC/tests/cli/compare_wandb.py" rows.json offline/trainer_state.json || return 1
  if grep -rqa "$KEY" wandb offline; then echo "the API key is in a file it wrote"; return 1; fi
}
check "offline: the .wandb file holds what wandb sync needs, row for row" offline_run

offline_models() {
  rm -rf wandb
  WANDB_MODE=offline WANDB_LOG_MODEL=checkpoint "$BIN" "${common[@]}" --save_total_limit 1 --output_dir models > models.log 2>&1 \
    || { tail -5 models.log; return 1; }
  $PY "$SRC/tests/integrations/read_wandb.py" "$(offline_dir)" > read.json || return 1
  # The base model, then one model artifact per checkpoint (20, 40, 60), each whole although only
  # checkpoint-60 is left.
  $PY -c '
import json, sys
arts = json.load(open(sys.argv[1]))["artifacts"]
base = [a for a in arts if "base_model" in a["aliases"]]
steps = [a for s in (20, 40, 60) for a in arts if f"checkpoint_global_step_{s}" in a["aliases"]]
ok = len(arts) == 4 and len(base) == 1 and list(base[0]["files"]) == ["model_architecture.txt"] and len(steps) == 3 \
    and all("model.safetensors" in a["files"] and "trainer_state.json" in a["files"] for a in steps)
sys.exit(0 if ok else 1)' read.json || { echo "artifacts: $(cat read.json)"; return 1; }
  [[ $(ls -d models/checkpoint-* | wc -l) -eq 1 ]] || { echo "rotation did not happen"; return 1; }
}
check "offline, WANDB_LOG_MODEL=checkpoint: each checkpoint a model artifact, whole after rotation" offline_models

killed_offline() {
  rm -rf wandb
  WANDB_MODE=offline "$BIN" "${common[@]}" --max_steps 100000 --save_steps 200 --output_dir killed_offline > killed_offline.log 2>&1 &
  local trainer=$!
  for _ in $(seq 1200); do [[ -d killed_offline/checkpoint-400 ]] && break; sleep 0.05; done
  kill -9 $trainer
  wait $trainer 2>/dev/null
  $PY "$SRC/tests/integrations/read_wandb.py" "$(offline_dir)" --allow-no-exit > read.json || return 1
  # Every row of a checkpoint's log_history is in the file once its on_save returned: the newest
  # checkpoint's may still be on its way, the one before it is complete.
  local newest
  newest=$(ls -d killed_offline/checkpoint-* | sort -t- -k2 -n | tail -2 | head -1)
  $PY -c '
import json, sys
r, state = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if r["exit_code"] is None and r["history_rows"] >= len(state["log_history"]) else 1)' read.json "$newest/trainer_state.json" \
    || { echo "expected no exit and every row of $newest: $(cat read.json)"; return 1; }
}
check "offline, SIGKILL mid-run: the file reads cleanly up to its last complete record" killed_offline

train_with_fault() {  # NAME FAULT_JSON [extra flags]
  local name=$1 f=$2
  shift 2
  start_server
  mock_fault "$f"
  online "$BIN" "${common[@]}" --output_dir "$name" "$@" > "$name.log" 2>&1
  local status=$?
  mock_stop
  [[ $status -eq 0 ]] || { echo "exit $status"; tail -5 "$name.log"; return 1; }
  if grep -qa "$KEY" "$name.log"; then echo "the API key is in the log"; return 1; fi
  local rejected=()
  [[ -s "$name/tracking/wandb/rejected.jsonl" ]] && rejected=(--rejected "$name/tracking/wandb/rejected.jsonl")
  [[ $f != *reject_next* || ${#rejected[@]} -gt 0 ]] || { echo "the 400 left nothing in rejected.jsonl"; return 1; }
  $PY "$SRC/tests/cli/compare_wandb.py" state.json "$name/trainer_state.json" "${rejected[@]}"
}

check "online: server up" train_with_fault up '{}'
check "online: HTTP 500s" train_with_fault http500 '{"fail_next": 5}'
check "online: 429 with Retry-After" train_with_fault http429 '{"fail_next": 2, "fail_status": 429, "retry_after_s": 2}'
check "online: 3 s latency per request" train_with_fault slow '{"latency_ms": 3000}' --tracker_flush_timeout 90
check "online: connection reset mid-request" train_with_fault reset '{"reset_next": 3}'
check "online: a permanent 400 (the row kept in rejected.jsonl)" train_with_fault rejected '{"reject_next": 2, "reject_path": "file_stream"}'

down_mid_run() {
  start_server
  train_through_outage 1 8000 "${online_env[@]:1}" -- --max_steps 400 --save_steps 100 --eval_steps 100 || { mock_stop; return 1; }
  mock_stop
  $PY "$SRC/tests/cli/compare_wandb.py" state.json down_mid/trainer_state.json
}
check "online: server down for 8 s mid-run" down_mid_run

kill_and_resume() {
  start_server
  kill_mid_run_then_resume "${online_env[@]:1}" || { mock_stop; return 1; }
  mock_stop
  $PY "$SRC/tests/cli/compare_wandb.py" state.json killed/trainer_state.json --timings-may-differ
}
check "online, SIGKILL mid-run, then resume: the same run, each row once" kill_and_resume

sync_offline() {
  start_server
  online "$BIN" sync offline > sync.log 2>&1 || { echo "sync failed"; cat sync.log; mock_stop; return 1; }
  online "$BIN" sync offline > sync2.log 2>&1
  grep -q "everything was sent already" sync2.log || { echo "second sync sent again"; cat sync2.log; mock_stop; return 1; }
  mock_stop
  $PY "$SRC/tests/cli/compare_wandb.py" state.json offline/trainer_state.json
}
check "trainer sync sends the offline run, once" sync_offline

replay() {
  "$BIN" "${common[@]}" --report_to none --output_dir plain > plain.log 2>&1 || return 1
  start_server
  online "$BIN" sync plain --report_to wandb > replay.log 2>&1 || { echo "replay failed"; cat replay.log; mock_stop; return 1; }
  mock_stop
  $PY "$SRC/tests/cli/compare_wandb.py" state.json plain/trainer_state.json
}
check "trainer sync --report_to wandb replays a run that did not use W&B" replay

summary
