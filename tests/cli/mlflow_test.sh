#!/usr/bin/env bash
# --report_to mlflow end to end: the real trainer against the mock tracking server, with each fault
# the issue lists. Every run must exit 0 and the server must end with every number of log_history
# exactly once; a SIGKILL mid-run and a resume keep that, in the same remote run; `trainer sync`
# sends a journal whose server never came back. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SERVER=${MOCK_TRACKING_SERVER:?set MOCK_TRACKING_SERVER to the mock server executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to mlflow)
port=
server_pid=

start_server() {  # [PORT]
  mock_start mlflow "" "${1:-}"
  export MLFLOW_TRACKING_URI=http://127.0.0.1:$port
}

compare() {  # OUTPUT_DIR [compare_mlflow.py flags]
  local out=$1
  shift
  $PY "$SRC/tests/cli/compare_mlflow.py" state.json "$out/trainer_state.json" "$@"
}

train_with_fault() {  # NAME FAULT_JSON [extra flags]
  local name=$1 f=$2
  shift 2
  start_server
  mock_fault "$f"
  "$BIN" "${common[@]}" --output_dir "$name" "$@" > "$name.log" 2>&1
  local status=$?
  mock_stop
  [[ $status -eq 0 ]] || { echo "exit $status"; tail -5 "$name.log"; return 1; }
  if [[ -s "$name/tracking/mlflow/rejected.jsonl" ]]; then compare "$name" --rejected "$name/tracking/mlflow/rejected.jsonl"
  else compare "$name"; fi
}

check "server up" train_with_fault up '{}'
check "HTTP 500s" train_with_fault http500 '{"fail_next": 5}'
check "429 with Retry-After" train_with_fault http429 '{"fail_next": 2, "fail_status": 429, "retry_after_s": 2}'
check "5 s latency per request" train_with_fault slow '{"latency_ms": 5000}' --tracker_flush_timeout 90
check "connection reset mid-request" train_with_fault reset '{"reset_next": 3}'
check "a permanent 400 (the record kept in rejected.jsonl)" train_with_fault rejected '{"reject_next": 2, "reject_path": "log-batch"}'

down_at_start() {
  start_server
  local fixed=$port
  mock_stop
  "$BIN" "${common[@]}" --output_dir down_start > down_start.log 2>&1 &
  local trainer=$!
  sleep 2
  start_server "$fixed"
  wait $trainer || { echo "trainer failed"; mock_stop; return 1; }
  mock_stop
  compare down_start
}
check "server down at start" down_at_start

down_mid_run() {
  start_server
  train_through_outage 1.5 20000 -- --max_steps 200 || { mock_stop; return 1; }
  mock_stop
  compare down_mid
}
check "server down for 20 s mid-run" down_mid_run

kill_and_resume() {
  start_server
  kill_mid_run_then_resume || { mock_stop; return 1; }
  mock_stop
  compare killed --resent-after-kill
}
check "SIGKILL mid-run, then resume: exactly once, same remote run" kill_and_resume

never_came_back() {
  start_server
  mock_stop  # nothing listens on this port now
  "$BIN" "${common[@]}" --output_dir orphan --tracker_flush_timeout 2 > orphan.log 2>&1 || { echo "training failed"; return 1; }
  grep -q "trainer sync orphan" orphan.log || { echo "no sync command printed"; tail -3 orphan.log; return 1; }
  start_server "$port"
  "$BIN" sync orphan > sync.log 2>&1 || { echo "sync failed"; cat sync.log; mock_stop; return 1; }
  "$BIN" sync orphan > sync2.log 2>&1 || { echo "second sync failed"; mock_stop; return 1; }
  grep -q "everything was sent already" sync2.log || { echo "second sync sent again"; cat sync2.log; mock_stop; return 1; }
  mock_stop
  compare orphan
}
check "trainer sync sends a journal whose server never came back" never_came_back

sync_with_server_down() {
  "$BIN" sync orphan --timeout 1 > /dev/null 2>&1
  [[ $? -eq 0 ]]  # everything was sent already: nothing to wait for
}
check "trainer sync of a fully sent run needs no server" sync_with_server_down

sync_of_a_missing_directory() {
  "$BIN" sync no_such_run > missing.log 2>&1
  [[ $? -eq 1 ]] && grep -q "no_such_run is not a directory" missing.log
}
check "trainer sync of a directory that does not exist: status 1, named" sync_of_a_missing_directory

replay() {
  "$BIN" "${common[@]}" --report_to none --output_dir plain > plain.log 2>&1 || return 1
  start_server
  "$BIN" sync plain --report_to mlflow > replay.log 2>&1 || { echo "replay failed"; cat replay.log; mock_stop; return 1; }
  mock_stop
  compare plain
}
check "trainer sync --report_to mlflow replays a run that did not use MLflow" replay

# HTTPS: the mock server behind a TLS front (tls_proxy.py) whose certificate a test CA signed.
make_test_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=trainer test CA" 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=trainer test client" 2>/dev/null &&
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.crt -days 2 2>/dev/null &&
    cat client.crt client.key > client.pem  # one file, certificate and key, as MLflow's client takes it
}
tls_pid=
start_tls_server() {  # [CLIENT_CA]: clients must then present a certificate it signed
  start_server
  rm -f tls_port
  $PY "$SRC/tests/cli/tls_proxy.py" server.pem server.key "$port" tls_port ${1:+"$1"} &
  tls_pid=$!
  for _ in $(seq 100); do [[ -s tls_port ]] && break; sleep 0.05; done
  export MLFLOW_TRACKING_URI=https://127.0.0.1:$(cat tls_port)
}
stop_tls_server() {
  kill "$tls_pid" 2>/dev/null
  wait "$tls_pid" 2>/dev/null
  mock_stop
}

https_trusted() {  # OUTPUT_DIR VAR=VALUE...: trains against the HTTPS front with the variables given
  local out=$1
  shift
  start_tls_server
  env "$@" "$BIN" "${common[@]}" --output_dir "$out" > "$out.log" 2>&1
  local status=$?
  stop_tls_server
  [[ $status -eq 0 ]] || { echo "exit $status"; tail -3 "$out.log"; return 1; }
  ! grep -q "WARNING: MLflow" "$out.log" || { echo "warnings:"; grep WARNING "$out.log"; return 1; }
  compare "$out"
}

https_untrusted_then_sync() {
  start_tls_server
  "$BIN" "${common[@]}" --output_dir untrusted --tracker_flush_timeout 120 > untrusted.log 2>&1
  local status=$?
  [[ $status -eq 0 ]] || { echo "training failed: $status"; stop_tls_server; return 1; }
  grep -q "TLS certificate is not trusted (SSL certificate problem: .*): set MLFLOW_TRACKING_SERVER_CERT_PATH to the PEM file of the certificate authority that signed it, or MLFLOW_TRACKING_INSECURE_TLS=true" untrusted.log ||
    { echo "the warning does not name the fix:"; grep WARNING untrusted.log; stop_tls_server; return 1; }
  MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem "$BIN" sync untrusted > untrusted_sync.log 2>&1 || { echo "sync failed"; cat untrusted_sync.log; stop_tls_server; return 1; }
  stop_tls_server
  compare untrusted
}

https_insecure() {
  start_tls_server
  MLFLOW_TRACKING_INSECURE_TLS=true "$BIN" "${common[@]}" --output_dir insecure > insecure.log 2>&1
  local status=$?
  stop_tls_server
  [[ $status -eq 0 ]] || { echo "exit $status"; return 1; }
  [[ $(grep -c "TLS certificate verification is OFF for a tracking server (MLFLOW_TRACKING_INSECURE_TLS=true)" insecure.log) -eq 1 ]] ||
    { echo "want one warning that verification is off:"; grep WARNING insecure.log; return 1; }
  compare insecure
}

https_unreadable_bundle() {
  start_tls_server
  MLFLOW_TRACKING_SERVER_CERT_PATH=missing.pem "$BIN" "${common[@]}" --output_dir badbundle --tracker_flush_timeout 120 > badbundle.log 2>&1
  local status=$?
  stop_tls_server
  [[ $status -eq 0 ]] || { echo "exit $status"; return 1; }
  grep -q "cannot read the certificate authorities in 'missing.pem' (.*): set MLFLOW_TRACKING_SERVER_CERT_PATH to a readable PEM file" badbundle.log ||
    { echo "the warning does not name the file:"; grep WARNING badbundle.log; return 1; }
}

https_client_certificate() {
  start_tls_server ca.pem
  MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem "$BIN" "${common[@]}" --output_dir no_client_cert --tracker_flush_timeout 120 > no_client_cert.log 2>&1 ||
    { echo "training without a client certificate failed"; stop_tls_server; return 1; }
  grep -q "send them with: trainer sync no_client_cert" no_client_cert.log || { echo "records not kept:"; grep WARNING no_client_cert.log; stop_tls_server; return 1; }
  grep -q "the server asks for a TLS client certificate that it accepts (.*alert certificate required.*): set MLFLOW_TRACKING_CLIENT_CERT_PATH to a PEM file" no_client_cert.log ||
    { echo "the warning does not name the fix:"; grep WARNING no_client_cert.log; stop_tls_server; return 1; }
  MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem MLFLOW_TRACKING_CLIENT_CERT_PATH=client.pem "$BIN" "${common[@]}" --output_dir client_cert > client_cert.log 2>&1
  local status=$?
  stop_tls_server
  [[ $status -eq 0 ]] || { echo "exit $status"; return 1; }
  ! grep -q "WARNING: MLflow" client_cert.log || { echo "warnings:"; grep WARNING client_cert.log; return 1; }
  compare client_cert
}

if make_test_ca; then
  check "https, the CA from MLFLOW_TRACKING_SERVER_CERT_PATH" https_trusted https_cert_path MLFLOW_TRACKING_SERVER_CERT_PATH=ca.pem
  check "https, the CA from REQUESTS_CA_BUNDLE (as MLflow's Python client reads it)" https_trusted https_requests_bundle REQUESTS_CA_BUNDLE=ca.pem
  check "https, a certificate not trusted: training goes on, the warning names the fix, trainer sync with the CA sends all once" https_untrusted_then_sync
  check "https, MLFLOW_TRACKING_INSECURE_TLS=true: sent, with one warning" https_insecure
  check "https, an unreadable MLFLOW_TRACKING_SERVER_CERT_PATH: named in the warning" https_unreadable_bundle
  check "mutual TLS: refused without a certificate (records kept), sent with MLFLOW_TRACKING_CLIENT_CERT_PATH" https_client_certificate
else
  check "a test CA (openssl, from scripts/install-deps.sh --tests)" false
fi

summary
