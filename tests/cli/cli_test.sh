#!/usr/bin/env bash
# End-to-end checks of the `trainer` program: flags, errors and exit codes, the files a run leaves,
# and that Python reads the trainer_state.json it writes. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
source "$(dirname "$0")/lib.sh"

run() {  # run EXPECTED_STATUS ARGS... ; output in $work/out, status compared
  local want=$1
  shift
  "$BIN" "$@" >"$work/out" 2>&1
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "  expected exit $want, got $got from: trainer $*"
    sed 's/^/  | /' "$work/out" | tail -20
    return 1
  fi
}

has() { grep -q -- "$1" "$work/out" || { echo "  missing '$1' in output:"; sed 's/^/  | /' "$work/out" | tail -20; return 1; }; }
export -f run has
FMNIST=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
export BIN PY work FMNIST

make_sign_dataset 400 200
$PY -c 'open("nan.csv", "w").write("x1,label\n" + "nan,1\n" * 64)'

check "help lists every flag with its default" bash -c "
  run 0 train --help && has '--learning_rate float (default: 0.001)' && has '--report_to list\[str\]' &&
  has '--eval_strategy {no,steps,epoch}' && has '--model str' && has '--config FILE'"
check "no command is a usage error" bash -c "run 2"
check "env prints what a bug report needs" bash -c "
  run 0 env && has '- LibTorch version: ' && has '- OpenBLAS kernel: ' && has '- CPU cores usable: ' && run 2 env --verbose"
# The torch wheel's LibTorch is a CUDA build (the OpenBLAS hints apply to LibTorch builds that use
# OpenBLAS, and are tested on their own in runtime_environment_test.cpp).
check "env names LibTorch 2.x, the CUDA build's versions and the devices" bash -c "
  run 0 env && has '- LibTorch version: 2\.' && has '- CUDA build: yes (CUDA [0-9][0-9.]*, cuDNN [0-9][0-9.]*, NCCL [0-9][0-9.]*)' &&
  { command -v nvidia-smi > /dev/null || has '- CUDA devices: 0'; }"
check "unknown command" bash -c "run 2 fly && has \"unknown command 'fly'\""
check "unknown flag suggests the closest" bash -c "run 2 train --learning_rat 1e-3 && has 'did you mean --learning_rate?'"
check "wrong type names the flag" bash -c "run 2 train --num_train_epochs three && has '--num_train_epochs: expected a number'"
check "contradictory strategies" bash -c "
  run 2 train --load_best_model_at_end --eval_strategy steps --save_strategy epoch && has '--load_best_model_at_end'"
check "bf16 and fp16 together" bash -c "run 2 train --bf16 --fp16 && has 'cannot both be set'"
check "missing dataset says how to install it" bash -c "
  run 1 train --dataset_dir $work/nowhere && has 'apt-get install dataset-fashion-mnist'"
check "missing data file" bash -c "run 1 train --train_file $work/none.csv && has 'none.csv'"
check "NaN loss is a clear error with its own exit status" bash -c "
  run 3 train --train_file nan.csv --max_steps 10 --logging_steps 5 --output_dir nan_out --save_strategy no --eval_strategy no && has 'NaN'"

check "CSV training run leaves checkpoints in the original's layout" bash -c "
  run 0 train --train_file train.csv --eval_file eval.csv --num_train_epochs 3 --logging_steps 10 --output_dir csv_out --disable_tqdm &&
  has 'test accuracy' && has \"{'loss'\" && test -f csv_out/checkpoint-39/trainer_state.json &&
  test -f csv_out/checkpoint-39/model.safetensors && test -f csv_out/training_args.json &&
  $PY -c \"
import json
s = json.load(open('csv_out/checkpoint-39/trainer_state.json'))
assert s['global_step'] == 39 and s['max_steps'] == 39 and s['num_train_epochs'] == 3, s
assert [k for k in s] == sorted(s), 'keys must be sorted'
acc = [e['eval_accuracy'] for e in s['log_history'] if 'eval_accuracy' in e]
assert len(acc) == 3 and acc[-1] > 0.8, acc
text = open('csv_out/checkpoint-39/trainer_state.json').read()
assert text == json.dumps(s, indent=2, sort_keys=True) + '\n', 'not byte-identical to what Python writes'
a = json.load(open('csv_out/training_args.json'))
assert a['learning_rate'] == 0.001 and a['eval_strategy'] == 'epoch', a
\""

check "--report_to log_history writes the history as JSONL and CSV" bash -c "
  run 0 train --train_file train.csv --max_steps 20 --logging_steps 5 --output_dir hist_out --save_strategy no \
    --eval_strategy no --report_to log_history &&
  test \$(wc -l < hist_out/log_history.jsonl) -eq 5 && head -1 hist_out/log_history.csv | grep -q '^step,epoch,grad_norm,learning_rate,loss' &&
  $PY -c \"import json; [json.loads(l) for l in open('hist_out/log_history.jsonl')]\""
check "--report_to with an unknown name lists the valid ones" bash -c "
  run 2 train --train_file train.csv --report_to tensorbord && has 'valid: none, all, dvclive, tensorboard, codecarbon, log_history, report' && has \"did you mean 'tensorboard'\""

cat > run.yaml <<'YAML'
learning_rate: 5.0e-3
max_steps: 12
save_strategy: "no"
eval_strategy: "no"
logging_steps: 4
YAML
check "YAML config with a flag overriding it" bash -c "
  run 0 train --config run.yaml --max_steps 8 --train_file train.csv --output_dir yaml_out --disable_tqdm &&
  has 'after 8 steps' && grep -q '\"learning_rate\": 0.005' yaml_out/training_args.json"
check "progress is plain lines when not a terminal" bash -c "
  TRAINER_PROGRESS_INTERVAL=0 $BIN train --train_file train.csv --max_steps 5 --output_dir p_out --save_strategy no --eval_strategy no >/dev/null 2>$work/out &&
  has 'train: 100%' && ! grep -q \$'\r' $work/out"

# Waits (up to 60 s) until a background run has started training, so its signal handlers are in place.
# Callers empty $work/out before they start the run: an earlier run's "Training" line must not count
# (the background shell truncates the file only when it gets to run).
wait_training() {
  for _ in $(seq 600); do
    grep -q '^Training ' "$work/out" 2>/dev/null && { sleep 0.5; return 0; }
    sleep 0.1
  done
  echo "  the run did not start training"
  return 1
}

preempt() {
  : >"$work/out"
  "$BIN" train --train_file train.csv --max_steps 200000 --per_device_train_batch_size 4 --output_dir pre_out \
    --save_strategy no --eval_strategy no --logging_steps 100000 >"$work/out" 2>&1 &
  local pid=$!
  wait_training || { kill -9 "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$pid"
  local status=$?
  [[ $status -eq 4 ]] || { echo "  exit status $status, expected 4"; cat "$work/out"; return 1; }
  has 'Stopped by SIGTERM' && has 'resume_from_checkpoint last' || return 1
  local step
  step=$(ls -d pre_out/checkpoint-* | sed 's/.*checkpoint-//')
  [[ $(echo "$step" | wc -l) -eq 1 ]] || { echo "  expected one checkpoint, got: $step"; return 1; }
  run 0 train --train_file train.csv --per_device_train_batch_size 4 --output_dir pre_out --save_strategy no \
    --eval_strategy no --resume_from_checkpoint last --max_steps $((step + 3)) && has "after $((step + 3)) steps"
}
abort_twice() {
  # Slow steps (a CNN on large batches), so the second interrupt lands while the first step finishes.
  : >"$work/out"
  "$BIN" train --model cnn --train_file "$FMNIST/t10k-images-idx3-ubyte.gz" --max_train_samples 4096 \
    --per_device_train_batch_size 1024 --max_steps 1000 --output_dir abort_out --save_strategy no \
    --eval_strategy no >"$work/out" 2>&1 &
  local pid=$!
  wait_training || { kill -9 "$pid"; return 1; }
  kill -INT "$pid"
  sleep 0.05
  kill -INT "$pid"
  wait "$pid"
  local status=$?
  [[ $status -eq 130 ]] || { echo "  exit status $status, expected 130"; cat "$work/out"; return 1; }
  has 'second interrupt, aborting'
}
export -f wait_training preempt abort_twice
check "SIGTERM saves a checkpoint, says how to resume and exits 4; the run resumes" preempt
check "a second SIGINT aborts at once" abort_twice
check "resume from a missing checkpoint is a clear error" bash -c "
  run 2 train --train_file train.csv --output_dir none_out --resume_from_checkpoint last && has 'no checkpoint to resume from'"

echo
summary
