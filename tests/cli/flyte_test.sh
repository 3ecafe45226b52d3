#!/usr/bin/env bash
# --report_to flyte end to end: checkpoints synced to a local folder and to moto's S3 server (from
# PyPI, on 127.0.0.1, its access control on) through a proxy that also checks every request's SigV4
# signature with botocore's signer; a wrong secret key refused and nothing lost (trainer sync sends
# it later); a run killed mid-training and restarted with --flyte_prev_checkpoint resumes exactly;
# the Log History deck opened in headless Chromium. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to flyte)
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
$PY "$SRC/tests/support/moto_s3.py" moto.json ckpt > moto.log 2>&1 &
pids+=($!)
for _ in $(seq 600); do [[ -s moto.json ]] && break; sleep 0.1; done
[[ -s moto.json ]] || { echo "FAIL moto's S3 server did not start (scripts/install-deps.sh --tests installs moto): $(tail -3 moto.log)"; exit 1; }
field() { $PY -c 'import json, sys; print(json.load(open("moto.json"))[sys.argv[1]])' "$1"; }
s3url=$(field url) access_key=$(field access_key) secret_key=$(field secret_key)
$PY "$SRC/tests/cli/sigv4_proxy.py" "$s3url" "$access_key" "$secret_key" proxy.port proxy.log &
pids+=($!)
for _ in $(seq 200); do [[ -s proxy.port ]] && break; sleep 0.05; done
aws=(env AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key" AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$(cat proxy.port))

# The bucket read back with botocore (independently of the project's client).
s3() { $PY "$SRC/tests/support/s3_read.py" moto.json ckpt "$@"; }
objects() { s3 keys "$1/"; }
same_as_checkpoint() { s3 same "$1" "$2"; }  # PREFIX CHECKPOINT_DIR: the newest checkpoint whole, no other left

local_sync() {
  "$BIN" "${common[@]}" --save_total_limit 1 --output_dir local --flyte_checkpoint_path "$work/dest" \
    --flyte_output_prefix "$work/outputs" > local.log 2>&1 || { tail -5 local.log; return 1; }
  [[ $(cat dest/latest_checkpoint) == checkpoint-60 ]] || { echo "latest: $(cat dest/latest_checkpoint)"; return 1; }
  diff -r local/checkpoint-60 dest/checkpoint-60 || return 1
  [[ ! -e dest/checkpoint-20 && ! -e dest/checkpoint-40 ]] || { echo "older checkpoints left in dest"; return 1; }
  cmp -s local/deck.html outputs/deck.html || { echo "outputs/deck.html differs"; return 1; }
}
check "a local destination holds the newest whole checkpoint, the deck beside the outputs" local_sync
check "the deck in headless Chromium shows every log_history row" $PY "$SRC/tests/cli/check_deck.py" local/deck.html local/trainer_state.json

s3_sync() {
  "${aws[@]}" "$BIN" "${common[@]}" --output_dir s3run --flyte_checkpoint_path s3://ckpt/run1 > s3run.log 2>&1 || { tail -5 s3run.log; return 1; }
  same_as_checkpoint run1 s3run/checkpoint-60 || return 1
  grep -q MISMATCH proxy.log && { echo "a signature botocore does not agree with: $(grep MISMATCH proxy.log | head -3)"; return 1; }
  [[ $(grep -c " ok$" proxy.log) -ge 20 ]] || { echo "too few checked requests: $(wc -l < proxy.log)"; return 1; }
  grep -q "DELETE /ckpt/run1/checkpoint-40" proxy.log || { echo "the previous checkpoint was not deleted"; return 1; }
  if grep -rqaF -- "$secret_key" s3run/tracking; then echo "a secret is in the journal"; return 1; fi
}
check "s3://: every request's signature checked by botocore, the newest checkpoint whole" s3_sync

wrong_secret() {
  env AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY=not-the-secret AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$(cat proxy.port) \
    "$BIN" "${common[@]}" --output_dir badkey --flyte_checkpoint_path s3://ckpt/run2 --tracker_flush_timeout 1 > badkey.log 2>&1 \
    || { echo "training failed"; tail -5 badkey.log; return 1; }
  grep -q "SignatureDoesNotMatch\|403" badkey.log || { echo "the refusal is not reported"; tail -5 badkey.log; return 1; }
  [[ -z $(objects run2) ]] || { echo "a refused request was stored"; return 1; }
  grep -qa "not-the-secret" badkey.log badkey/tracking -r && { echo "the secret is in a log or journal"; return 1; }
  "${aws[@]}" "$BIN" sync badkey > sync.log 2>&1 || { tail -5 sync.log; return 1; }
  same_as_checkpoint run2 badkey/checkpoint-60
}
check "a wrong secret key: refused (403), training unharmed, trainer sync sends it all later" wrong_secret

killed_then_retried() {
  local run=("${common[@]}" --max_steps 1000 --save_steps 50 --eval_steps 250 --logging_steps 10)
  "$BIN" "${run[@]}" --report_to none --output_dir whole > whole.log 2>&1 || { tail -5 whole.log; return 1; }
  "${aws[@]}" "$BIN" "${run[@]}" --output_dir attempt1 --flyte_checkpoint_path s3://ckpt/run3 > attempt1.log 2>&1 &
  local trainer=$!
  for _ in $(seq 600); do s3 cat run3/latest_checkpoint > /dev/null 2>&1 && break; sleep 0.05; done
  kill -9 $trainer
  wait $trainer 2>/dev/null
  local synced
  synced=$(s3 cat run3/latest_checkpoint 2>/dev/null)
  [[ -n $synced && ! -e attempt1/checkpoint-1000 ]] || { echo "no checkpoint synced before the kill, or the run ended: $synced"; return 1; }
  # Flyte's retry: a fresh container (a new output_dir) with the previous attempt's prefix.
  "${aws[@]}" "$BIN" "${run[@]}" --output_dir attempt2 --flyte_prev_checkpoint s3://ckpt/run3 \
    --flyte_checkpoint_path s3://ckpt/run3-retry --log_level info > attempt2.log 2>&1 || { tail -5 attempt2.log; return 1; }
  grep -q "Flyte: resuming from .*attempt2/$synced" attempt2.log || { echo "did not resume from $synced"; tail -5 attempt2.log; return 1; }
  $PY - whole/trainer_state.json attempt2/trainer_state.json "${synced#checkpoint-}" <<'PYEOF' || return 1
import json, sys
whole, retried = (json.load(open(f))["log_history"] for f in sys.argv[1:3])
after = int(sys.argv[3])
key = lambda e: {k: v for k, v in e.items() if "runtime" not in k and "per_second" not in k}
a = [key(e) for e in whole if e["step"] > after and "train_runtime" not in e]
b = [key(e) for e in retried if e["step"] > after and "train_runtime" not in e]
if a != b or not a:
    sys.exit(f"resumed rows differ from the uninterrupted run's after step {after}: {len(a)} vs {len(b)} rows")
print(f"{len(a)} rows after step {after} equal the uninterrupted run's")
PYEOF
}
check "killed mid-training, retried with --flyte_prev_checkpoint: resumes exactly" killed_then_retried

templates() {
  "$BIN" "${common[@]}" --output_dir tmpl --flyte_checkpoint_path '{{.checkpointOutputPrefix}}' \
    --flyte_prev_checkpoint '{{.prevCheckpointPrefix}}' > tmpl.log 2>&1 || { tail -5 tmpl.log; return 1; }
  [[ -s tmpl/deck.html && -d tmpl/checkpoint-60 ]]
}
check "unrendered templates mean no destination and no previous checkpoint" templates

summary
