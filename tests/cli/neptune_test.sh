#!/usr/bin/env bash
# --report_to neptune end to end: the deprecation warning, and the offline operation log read back
# by an independent reader (tests/integrations/read_neptune.py) against log_history; checkpoints
# with NEPTUNE_LOG_CHECKPOINTS, whole after rotation; no token in any file. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
common=(train --train_file "$DATA" --eval_file "$DATA" --max_train_samples 3000 --max_eval_samples 500 --max_steps 60
        --logging_steps 5 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --disable_tqdm
        --report_to neptune --run_name nep)
unset NEPTUNE_MODE NEPTUNE_LOG_CHECKPOINTS NEPTUNE_DATA_DIRECTORY
TOKEN=neptune-secret-token-123

offline_run() {
  rm -rf .neptune
  NEPTUNE_API_TOKEN=$TOKEN NEPTUNE_PROJECT=ws/proj "$BIN" "${common[@]}" --output_dir plain > plain.log 2>&1 || { tail -5 plain.log; return 1; }
  grep -q "NeptuneCallback is deprecated" plain.log || { echo "no deprecation warning"; return 1; }
  grep -q "neptune sync" plain.log || { echo "no sync hint"; return 1; }
  $PY "$SRC/tests/integrations/read_neptune.py" .neptune --log-history plain/trainer_state.json > read.json || return 1
  $PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
a = r["assigned"]
ok = a.get("sys/name") == "nep" and a.get("finetuning/trainer_parameters/learning_rate") == 0.001 \
    and "source_code/integrations/transformers" in a and r["series"].get("finetuning/eval/loss") == 3
sys.exit(0 if ok else 1)' read.json || { echo "assigned: $(head -c 600 read.json)"; return 1; }
  if grep -rqa "$TOKEN" .neptune plain; then echo "the API token is in a file it wrote"; return 1; fi
}
check "offline: the operation log replays to log_history; deprecation warned" offline_run

checkpoints() {  # MODE EXPECTED_FILES (checkpoint names left in the last file set)
  rm -rf .neptune
  NEPTUNE_LOG_CHECKPOINTS=$1 "$BIN" "${common[@]}" --save_total_limit 1 --output_dir "ck_$1" > "ck_$1.log" 2>&1 \
    || { tail -5 "ck_$1.log"; return 1; }
  $PY "$SRC/tests/integrations/read_neptune.py" .neptune --log-history "ck_$1/trainer_state.json" > read.json || return 1
  $PY -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
want = json.loads(sys.argv[2])
sys.exit(0 if files == want else 1)' read.json "$2" || { echo "files: $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' read.json)"; return 1; }
}
check "log_checkpoints=same: every checkpoint, whole after rotation" \
  checkpoints same '{"finetuning/checkpoints": ["checkpoint-20", "checkpoint-40", "checkpoint-60"]}'
check "log_checkpoints=last: only the newest" checkpoints last '{"finetuning/checkpoints/last": ["checkpoint-60"]}'

summary
