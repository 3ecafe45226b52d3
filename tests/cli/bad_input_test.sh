#!/usr/bin/env bash
# Bad input end to end: every row of docs/errors.md run as written (status and message checked, no
# stack trace), then the cases that need more than one command: resuming a finished run, resuming
# with other arguments, the final evaluation, progress output in a log file. Prints "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
DOCS=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR to the source tree}/docs/errors.md
source "$(dirname "$0")/lib.sh"
FMNIST=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

# ---- the files the table names ------------------------------------------------------------------
make_sign_dataset 200 100
$PY - <<'PYEOF'
import random
random.seed(1)
def write(name, header, rows):
    with open(name, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")
feats = lambda k: [round(random.uniform(-1, 1), 4) for _ in range(k)]
write("train4.csv", ["x1", "x2", "x3", "x4", "label"], [feats(4) + [i % 2] for i in range(64)])
write("eval3.csv", ["x1", "x2", "x3", "label"], [feats(3) + [i % 2] for i in range(32)])
write("nan.csv", ["x1", "label"], [["nan", 1]] * 64)
write("huge_label.csv", ["x1", "label"], [[0.5, 0], [0.1, 1], [0.2, 1000000000]])
write("big_label.csv", ["x1", "label"], [[0.5, 0], [0.1, 1], [0.3, 0], [0.2, 100000]])
write("ten_classes.csv", ["x1", "x2", "x3", "label"], [feats(3) + [i % 10] for i in range(100)])
# Columns in another order than train.csv's: matched by name.
import csv
rows = list(csv.reader(open("eval.csv")))
order = [3, 2, 0, 1]
with open("eval_reordered.csv", "w") as f:
    for r in rows:
        f.write(",".join(r[i] for i in order) + "\n")
PYEOF
# TorchScript needs the source in a file.
cat > make_models.py <<'PYEOF'
import torch
class Five(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 5)
    def forward(self, x):
        return self.fc(x)
class NoParams(torch.nn.Module):
    def forward(self, x):
        return x * 2.0
torch.jit.script(Five()).save("five_outputs.pt")
torch.jit.script(NoParams()).save("no_params.pt")
PYEOF
$PY make_models.py
printf 'learning_rate: 0.1\nconfig: other.yaml\n' > nested.yaml
mkdir -p badhome && printf '[codecarbon]\nmeasure_power_secs = often\n' > badhome/.codecarbon.config

# ---- every row of the table ---------------------------------------------------------------------
rows=$($PY - "$DOCS" <<'PYEOF'
import re, sys
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 4 or not cells[1].startswith("`") or "trainer train" not in cells[1]:
        continue
    print("\t".join([cells[0], cells[1].strip("`"), cells[2].strip("`"), cells[3]]))
PYEOF
)
[[ $(echo "$rows" | wc -l) -ge 25 ]] || { echo "FAIL the table in docs/errors.md has too few rows"; exit 1; }

table_row() {  # NAME COMMAND MESSAGE STATUS
  local cmd=${2/trainer train/\"\$BIN\" train}
  (eval "$cmd --output_dir row_out_$RANDOM$RANDOM") >"$work/out" 2>&1
  local got=$?
  [[ $got -eq $4 ]] || { echo "  expected exit $4, got $got from: $2"; sed 's/^/  | /' "$work/out" | tail -8; return 1; }
  grep -qF -- "$3" "$work/out" || { echo "  missing '$3' in:"; sed 's/^/  | /' "$work/out" | tail -8; return 1; }
  ! grep -qE 'frame #[0-9]+|Exception raised from' "$work/out" || { echo "  a stack trace reached the user:"; head -5 "$work/out"; return 1; }
}
export BIN work
while IFS=$'\t' read -r name cmd message status; do
  check "errors.md: $name" table_row "$name" "$cmd" "$message" "$status"
done <<<"$rows"

# ---- cases of more than one command -------------------------------------------------------------
tree_digest() { find "$1" -type f -print0 | sort -z | xargs -0 sha256sum; }

finished_run() {
  "$BIN" train --train_file train.csv --max_steps 12 --save_steps 6 --eval_strategy no --output_dir done_out >/dev/null 2>&1 || return 1
  local before
  before=$(tree_digest done_out)
  for _ in 1 2; do
    "$BIN" train --train_file train.csv --max_steps 12 --save_steps 6 --eval_strategy no --output_dir done_out \
      --resume_from_checkpoint last >"$work/out" 2>&1 || { cat "$work/out"; return 1; }
    grep -q 'Nothing to do: done_out/checkpoint-12 has already trained 12 of 12 steps' "$work/out" || { cat "$work/out"; return 1; }
  done
  [[ "$(tree_digest done_out)" == "$before" ]] || { echo "  files changed"; return 1; }
  [[ ! -e done_out/checkpoint-13 ]]
}
check "resuming a finished run has nothing to do, exits 0 and changes no file" finished_run

other_arguments() {
  "$BIN" train --train_file train.csv --max_steps 6 --save_steps 6 --eval_strategy no --output_dir args_out >/dev/null 2>&1 || return 1
  "$BIN" train --train_file train.csv --max_steps 12 --save_steps 6 --eval_strategy no --output_dir args_out \
    --learning_rate 5e-4 --resume_from_checkpoint last >"$work/out" 2>&1 || { cat "$work/out"; return 1; }
  grep -q -- '--learning_rate: 0.0005 now, 0.001 in the checkpoint' "$work/out" || { cat "$work/out"; return 1; }
  "$BIN" train --train_file train.csv --max_steps 18 --save_steps 6 --eval_strategy no --output_dir args_out \
    --per_device_train_batch_size 8 --resume_from_checkpoint last >"$work/out" 2>&1
  [[ $? -eq 2 ]] && grep -q -- '--per_device_train_batch_size: 8 now, 32 in the checkpoint' "$work/out" &&
    grep -q -- '--force_resume' "$work/out" || { cat "$work/out"; return 1; }
  [[ ! -e args_out/checkpoint-18 ]] || return 1
  "$BIN" train --train_file train.csv --max_steps 18 --save_steps 6 --eval_strategy no --output_dir args_out \
    --per_device_train_batch_size 8 --resume_from_checkpoint last --force_resume >"$work/out" 2>&1 && [[ -e args_out/checkpoint-18 ]]
}
check "resuming with other arguments names them; other batches are refused unless --force_resume" other_arguments

final_evaluation() {
  "$BIN" train --train_file train.csv --eval_file eval_reordered.csv --num_train_epochs 2 --output_dir final_out \
    --save_strategy no >"$work/out" 2>&1 || { cat "$work/out"; return 1; }
  grep -q 'test accuracy' "$work/out" || return 1
  [[ $(grep -c "eval: 100%" "$work/out") -le 2 ]] || { echo "  at most one eval line per evaluation expected"; cat "$work/out"; return 1; }
  [[ $(grep -c "train: 100%" "$work/out") -eq 1 ]] || { echo "  the final train line twice"; cat "$work/out"; return 1; }
  $PY -c "
import json
h = json.load(open('final_out/trainer_state.json'))['log_history']
evals = [e['step'] for e in h if 'eval_loss' in e]
assert evals == [7, 14], evals
assert [e for e in h if 'eval_loss' in e][-1]['eval_accuracy'] > 0.7, h
" || return 1
}
check "the loop's evaluation at the final step is the final evaluation (no duplicate); progress lines once" final_evaluation

interrupted_final_evaluation() {
  "$BIN" train --train_file "$FMNIST/t10k-images-idx3-ubyte.gz" --max_train_samples 64 --eval_file "$FMNIST/t10k-images-idx3-ubyte.gz" --max_steps 1 --eval_strategy no \
    --save_strategy no --output_dir int_out --per_device_eval_batch_size 1 --model cnn >"$work/out" 2>&1 &
  local pid=$!
  # Training is one step; the evaluation that follows, of 10000 single-example batches, takes seconds.
  for _ in $(seq 1200); do grep -q 'train: 100%' "$work/out" 2>/dev/null && break; sleep 0.05; done
  sleep 0.3
  kill -INT "$pid"
  wait "$pid"
  local status=$?
  [[ $status -eq 4 ]] || { echo "  exit $status, expected 4"; cat "$work/out"; return 1; }
  grep -q 'stopped by SIGINT during an evaluation after training' "$work/out" &&
    ! grep -q 'saving a checkpoint' "$work/out" || { cat "$work/out"; return 1; }
}
check "Ctrl-C during the final evaluation stops it and exits 4" interrupted_final_evaluation

config_and_lists() {
  printf '{"output_dir": null, "max_steps": 3, "save_strategy": "no", "eval_strategy": "no"}\n' > null.json
  mkdir -p cfg && cd cfg || return 1
  "$BIN" train --config ../null.json --train_file ../train.csv --report_to tensorboard,log_history >"$work/out" 2>&1 ||
    { cat "$work/out"; return 1; }
  [[ -d trainer_output && ! -e none && -f trainer_output/log_history.jsonl ]] && ls trainer_output/runs >/dev/null
}
check "null in a config file is the default; --report_to a,b" config_and_lists

echo
summary
