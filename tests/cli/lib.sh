# Shared by the end-to-end scripts in tests/cli: a scratch directory, pass/fail counting, and a
# small learnable CSV dataset. Source it, then call `check NAME COMMAND...` and end with `summary`.

# The Python of .venv (torch, numpy, PyYAML, botocore, moto), as ctest passes it.
PY=${TRAINER_PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0
failed=0

check() {  # check NAME COMMAND... ; the command's status decides
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

summary() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# train.csv and eval.csv (TRAIN and EVAL rows): three features, the class is the sign of their sum.
make_sign_dataset() {
  $PY - "$1" "$2" <<'PYEOF'
import random, sys
random.seed(0)
for name, n in (("train.csv", int(sys.argv[1])), ("eval.csv", int(sys.argv[2]))):
    with open(name, "w") as f:
        f.write("x1,x2,x3,label\n")
        for _ in range(n):
            xs = [random.uniform(-1, 1) for _ in range(3)]
            f.write(",".join(f"{x:.4f}" for x in xs) + f",{int(sum(xs) > 0)}\n")
PYEOF
}

# A mock tracking service (mock_tracking_server, path in $SERVER) for the remote trackers' scripts.
# mock_start SERVICE AUTH [PORT] sets $port and $server_pid; mock_stop writes its state to state.json.
mock_start() {
  rm -f port state.json
  "$SERVER" --service "$1" ${2:+--auth "$2"} --port-file port --state-file state.json ${3:+--port "$3"} &
  server_pid=$!
  for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.05; done
  port=$(cat port)
}

mock_stop() {
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
}

mock_fault() {  # JSON: Faults and down_for_ms (tests/support/test_control.h)
  $PY -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], sys.argv[2].encode(), {"Content-Type": "application/json"}))' \
    "http://127.0.0.1:$port/__test__/fault" "$1"
}

# kill_mid_run_then_resume [VAR=VALUE ...]: trains "${common[@]}" into killed/ (1000 steps, a
# checkpoint every 50) in the background, SIGKILLs it 0.3 s after checkpoint-100 appears, then
# resumes from the last checkpoint; both with the variables given. The trainer itself is the
# background process (`env` execs it), so kill -9 reaches it.
kill_mid_run_then_resume() {
  local run=("${common[@]}" --max_steps 1000 --save_steps 50 --eval_steps 50 --output_dir killed)
  env "$@" "$BIN" "${run[@]}" > killed.log 2>&1 &
  local trainer=$!
  for _ in $(seq 600); do [[ -d killed/checkpoint-100 ]] && break; sleep 0.05; done
  sleep 0.3
  kill -9 $trainer
  wait $trainer 2>/dev/null
  [[ -d killed/checkpoint-100 ]] || { echo "no checkpoint-100 before the kill"; return 1; }
  env "$@" "$BIN" "${run[@]}" --resume_from_checkpoint last > resumed.log 2>&1 \
    || { echo "resume failed"; tail -5 resumed.log; return 1; }
}

# train_through_outage DELAY_S DOWN_MS [VAR=VALUE ...] -- [FLAG ...]: trains "${common[@]}" FLAGS...
# into down_mid/ with the variables given, taking the mock down for DOWN_MS after DELAY_S; fails
# when training does.
train_through_outage() {
  local delay=$1 down=$2 vars=()
  shift 2
  while [[ $# -gt 0 && $1 != -- ]]; do vars+=("$1"); shift; done
  shift
  env "${vars[@]}" "$BIN" "${common[@]}" "$@" --output_dir down_mid > down_mid.log 2>&1 &
  local trainer=$!
  sleep "$delay"
  mock_fault "{\"down_for_ms\": $down}"
  wait $trainer || { echo "trainer failed"; tail -5 down_mid.log; return 1; }
}
