#!/usr/bin/env bash
# --report_to trackio end to end: the project database read back with Python's sqlite3 and Debian's
# sqlite3 against each run's log_history; two trainers writing one project database at the same
# time lose nothing; a SIGKILL and a resume leave every row once. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to trackio --project "cli runs")
unset TRACKIO_PROJECT TRACKIO_SPACE_ID HF_HOME
export TRACKIO_DIR=$work/trackio
DB=$TRACKIO_DIR/cliruns.db

one_run() {
  "$BIN" "${common[@]}" --output_dir one --run_name one > one.log 2>&1 || { tail -5 one.log; return 1; }
  $PY "$SRC/tests/cli/compare_trackio.py" "$DB" one one/trainer_state.json || return 1
  # Debian's sqlite3 reads the same file: the tables and columns trackio's dashboard queries.
  [[ $(sqlite3 "$DB" "SELECT COUNT(*) FROM metrics WHERE run_name = 'one'") -gt 10 ]] || return 1
  sqlite3 "$DB" ".schema metrics" | grep -q "run_id TEXT, timestamp TEXT, run_name TEXT, step INTEGER, metrics TEXT" \
    || { echo "metrics columns: $(sqlite3 "$DB" ".schema metrics")"; return 1; }
  [[ $(sqlite3 "$DB" "PRAGMA integrity_check") == ok ]]
}
check "one run: every log_history row in the project database once, in order" one_run

concurrent() {
  "$BIN" "${common[@]}" --max_steps 300 --logging_steps 1 --output_dir a --run_name a > a.log 2>&1 &
  local first=$!
  "$BIN" "${common[@]}" --max_steps 300 --logging_steps 1 --output_dir b --run_name b > b.log 2>&1 || { tail -5 b.log; return 1; }
  wait $first || { tail -5 a.log; return 1; }
  $PY "$SRC/tests/cli/compare_trackio.py" "$DB" a a/trainer_state.json || return 1
  $PY "$SRC/tests/cli/compare_trackio.py" "$DB" b b/trainer_state.json || return 1
  [[ $(sqlite3 "$DB" "PRAGMA integrity_check") == ok ]]
}
check "two trainers writing one project database at once: both runs whole" concurrent

killed() {
  kill_mid_run_then_resume || return 1
  local name
  name=$(sqlite3 "$DB" "SELECT run_name FROM configs WHERE run_name LIKE 'run-%'")
  [[ $(echo "$name" | wc -l) -eq 1 && -n $name ]] || { echo "runs: $name"; return 1; }
  $PY "$SRC/tests/cli/compare_trackio.py" "$DB" "$name" killed/trainer_state.json
}
check "SIGKILL mid-run, then resume: the same run, every row once" killed

summary
