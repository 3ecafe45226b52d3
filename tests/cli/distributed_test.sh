#!/usr/bin/env bash
# Data-parallel training end to end: two processes on 127.0.0.1, through torchrun (.venv/bin) and
# launched directly with the environment variables. Needs TRAINER_BIN and TRAINER_SOURCE_DIR.
set -uo pipefail
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer program}
SRC=${TRAINER_SOURCE_DIR:?set TRAINER_SOURCE_DIR}
source "$SRC/tests/cli/lib.sh"
TORCHRUN=${TORCHRUN:-$(dirname "$PY")/torchrun}  # PyTorch's launcher, beside the Python of .venv

make_sign_dataset 512 128
common=(train --train_file "$work/train.csv" --eval_file "$work/eval.csv" --model mlp --learning_rate 0.01 --seed 1
        --disable_tqdm true --report_to none --train_sampling_strategy sequential --ddp_timeout 30)

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_rank RANK PORT NAME ARGS...: rank RANK of 2 in the background, launched as torchrun would
# but without it, in the folder $RANK_CWD (default: here), with files up to $RANK_FILE_LIMIT KiB
# (default: no limit); its pid in pid_NAME, its output in NAME.out and NAME.err (here).
start_rank() {
  local rank=$1 port=$2 name=$3
  shift 3
  (cd "${RANK_CWD:-.}" && { [[ -z ${RANK_FILE_LIMIT:-} ]] || ulimit -f "$RANK_FILE_LIMIT"; } && RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
     OMP_NUM_THREADS=1 exec "$BIN" "$@") > "$name.out" 2> "$name.err" &
  printf -v "pid_$name" '%s' $!
}

# two_ranks NAME ARGS...: both ranks with the same arguments; their statuses in status_NAME0/1.
two_ranks() {
  local name=$1 port
  shift
  port=$(free_port)
  start_rank 0 "$port" "${name}0" "$@"
  start_rank 1 "$port" "${name}1" "$@"
  local p0="pid_${name}0" p1="pid_${name}1"
  wait "${!p0}"; printf -v "status_${name}0" '%s' $?
  wait "${!p1}"; printf -v "status_${name}1" '%s' $?
}

wait_for() {  # wait_for PATH [TENTHS]: until PATH exists (default 60 s)
  for _ in $(seq "${2:-600}"); do [[ -e $1 ]] && return 0; sleep 0.1; done
  return 1
}

wait_for_line() {  # wait_for_line FILE TEXT [TENTHS]: until FILE holds TEXT (default 60 s)
  for _ in $(seq "${3:-600}"); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# (a) 2 ranks x batch 8 follow 1 rank x batch 16 on the same data order.
equivalent_to_one_big_batch() {
  local flags=(--max_steps 20 --logging_steps 1 --eval_strategy no --save_strategy steps --save_steps 20)
  "$BIN" "${common[@]}" "${flags[@]}" --per_device_train_batch_size 16 --output_dir one > one.log 2>&1 || { tail -3 one.log; return 1; }
  "$TORCHRUN" --nproc_per_node 2 --master_port "$(free_port)" --no_python "$BIN" "${common[@]}" "${flags[@]}" \
    --per_device_train_batch_size 8 --output_dir two > two.log 2>&1 || { tail -5 two.log; return 1; }
  $PY - <<'PYEOF' || return 1
import json
one = [e["loss"] for e in json.load(open("one/trainer_state.json"))["log_history"] if "loss" in e]
two = [e["loss"] for e in json.load(open("two/trainer_state.json"))["log_history"] if "loss" in e]
assert len(one) == len(two) == 20, (len(one), len(two))
worst = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(one, two))
print(f"loss trajectories: largest relative difference {worst:.2g}")
assert worst < 1e-5, worst
state = json.load(open("two/trainer_state.json"))
assert state["train_batch_size"] == 8, state["train_batch_size"]
PYEOF
  $PY "$SRC/tests/cli/compare_weights.py" one/checkpoint-20/model.safetensors two/checkpoint-20/model.safetensors 1e-5
}
check "2 ranks x batch 8 = 1 rank x batch 16 (loss per step, final weights)" equivalent_to_one_big_batch

# (b) a stop on one rank stops both at the same step; resuming gives the uninterrupted weights bit for bit.
stop_and_resume_is_exact() {
  local flags=(--max_steps 2000 --logging_steps 100 --eval_strategy no --save_strategy steps --save_steps 200 --per_device_train_batch_size 8)
  two_ranks full "${common[@]}" "${flags[@]}" --output_dir full
  [[ $status_full0 -eq 0 && $status_full1 -eq 0 ]] || { echo "full run: $status_full0 $status_full1"; tail -n 3 full0.err full1.err; return 1; }
  local port
  port=$(free_port)
  start_rank 0 "$port" stop0 "${common[@]}" "${flags[@]}" --output_dir stopped
  start_rank 1 "$port" stop1 "${common[@]}" "${flags[@]}" --output_dir stopped
  wait_for stopped/checkpoint-200 || { echo "no checkpoint-200"; return 1; }
  kill -TERM "$pid_stop1"  # rank 1 alone is told to stop
  wait "$pid_stop0"; local s0=$?
  wait "$pid_stop1"; local s1=$?
  [[ $s0 -eq 4 && $s1 -eq 4 ]] || { echo "statuses after SIGTERM to rank 1: $s0 $s1 (want 4 4)"; tail -n 3 stop0.err stop1.err; return 1; }
  grep -q "Stopped by SIGTERM after step" stop0.err || { echo "rank 0 did not report the stop"; cat stop0.err; return 1; }
  local stopped_at
  stopped_at=$(ls -d stopped/checkpoint-* | sed 's/.*-//' | sort -n | tail -1)
  [[ $stopped_at -lt 2000 ]] || { echo "the run was not stopped early"; return 1; }
  echo "both ranks stopped at step $stopped_at"
  two_ranks resumed "${common[@]}" "${flags[@]}" --output_dir stopped --resume_from_checkpoint last
  [[ $status_resumed0 -eq 0 && $status_resumed1 -eq 0 ]] || { echo "resume: $status_resumed0 $status_resumed1"; tail -n 3 resumed0.err resumed1.err; return 1; }
  cmp full/checkpoint-2000/model.safetensors stopped/checkpoint-2000/model.safetensors &&
    cmp full/checkpoint-2000/optimizer.safetensors stopped/checkpoint-2000/optimizer.safetensors
}
check "SIGTERM to rank 1 stops both at one step; resume = uninterrupted, bit for bit" stop_and_resume_is_exact

# torchrun --max_restarts with --resume_from_checkpoint last: a killed worker, the job restarted.
torchrun_restart_resumes() {
  local flags=(--max_steps 2000 --logging_steps 100 --eval_strategy no --save_strategy steps --save_steps 200 --per_device_train_batch_size 8)
  "$TORCHRUN" --nproc_per_node 2 --max_restarts 1 --master_port "$(free_port)" --no_python "$BIN" "${common[@]}" "${flags[@]}" \
    --output_dir restarted --resume_from_checkpoint last > restarted.log 2>&1 &
  local launcher=$!
  wait_for restarted/checkpoint-200 || { echo "no checkpoint-200"; kill $launcher; return 1; }
  local worker
  worker=$(pgrep -f -- "--output_dir restarted" | while read -r p; do
    tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'RANK=1' && echo "$p"; done | head -1)
  [[ -n $worker ]] || { echo "rank 1's process not found"; kill $launcher; return 1; }
  kill -9 "$worker"
  wait $launcher || { echo "torchrun failed"; tail -5 restarted.log; return 1; }
  grep -q "steps (resumed from restarted/checkpoint-" restarted.log || { echo "the restart did not resume"; tail -5 restarted.log; return 1; }
  cmp full/checkpoint-2000/model.safetensors restarted/checkpoint-2000/model.safetensors
}
check "torchrun --max_restarts 1 + --resume_from_checkpoint last: killed worker, same weights" torchrun_restart_resumes

# Resuming under another world size works from the same step, with a warning that the data order
# changes: a 2-rank checkpoint resumed by one process, and a one-process checkpoint by 2 ranks.
resume_under_another_world_size() {
  local flags=(--max_steps 60 --logging_steps 10 --eval_strategy no --save_strategy steps --save_steps 30 --per_device_train_batch_size 8)
  two_ranks grown "${common[@]}" "${flags[@]}" --max_steps 30 --output_dir by_two
  [[ $status_grown0 -eq 0 && $status_grown1 -eq 0 ]] || { echo "2-rank run: $status_grown0 $status_grown1"; tail -n 3 grown0.err; return 1; }
  "$BIN" "${common[@]}" "${flags[@]}" --output_dir by_two --resume_from_checkpoint last > shrunk.out 2> shrunk.err ||
    { echo "1 process resuming the 2-rank checkpoint failed"; tail -n 3 shrunk.err; return 1; }
  grep -q "Resuming a checkpoint written by 2 process(es) with 1" shrunk.err || { echo "no warning"; cat shrunk.err; return 1; }
  cat shrunk.out shrunk.err | grep -q "resumed from by_two/checkpoint-30" || { echo "did not resume at step 30"; cat shrunk.err; return 1; }
  "$BIN" "${common[@]}" "${flags[@]}" --max_steps 30 --output_dir by_one > one_run.out 2> one_run.err || { tail -n 3 one_run.err; return 1; }
  two_ranks regrown "${common[@]}" "${flags[@]}" --output_dir by_one --resume_from_checkpoint last
  [[ $status_regrown0 -eq 0 && $status_regrown1 -eq 0 ]] || { echo "2 ranks resuming: $status_regrown0 $status_regrown1"; tail -n 3 regrown0.err; return 1; }
  grep -q "Resuming a checkpoint written by 1 process(es) with 2" regrown0.err || { echo "no warning on rank 0"; cat regrown0.err; return 1; }
  ! grep -q "Resuming a checkpoint written by" regrown1.err || { echo "rank 1 warned too"; return 1; }
  cat regrown0.out regrown0.err | grep -q "resumed from by_one/checkpoint-30" || { echo "2 ranks did not resume at step 30"; cat regrown0.err; return 1; }
  $PY - <<'PYEOF' || return 1
import json
for run, world in (("by_two", 1), ("by_one", 2)):
    state = json.load(open(f"{run}/checkpoint-60/trainer_state.json"))
    assert state["global_step"] == 60, (run, state["global_step"])
    steps = [e["step"] for e in state["log_history"] if "loss" in e]
    assert steps == [10, 20, 30, 40, 50, 60], (run, steps)  # from step 30 on, no step trained twice
    assert json.load(open(f"{run}/checkpoint-60/loop_state.json"))["world_size"] == world, run
PYEOF
}
check "resume under another world size: from the same step, with a warning (2 -> 1, 1 -> 2 ranks)" resume_under_another_world_size

# (c) a rank that dies or hangs: the other exits within --ddp_timeout, naming it.
lost_rank_is_named() {
  local signal=$1 timeout=$2 port
  port=$(free_port)
  local flags=(--max_steps 1000000 --logging_steps 10 --eval_strategy no --save_strategy no --ddp_timeout "$timeout")
  start_rank 0 "$port" lost0 "${common[@]}" "${flags[@]}" --output_dir lost
  start_rank 1 "$port" lost1 "${common[@]}" "${flags[@]}" --output_dir lost
  # Training has started (the rendezvous is over) once rank 0 logged a loss: on a slow machine the
  # rendezvous alone can take seconds.
  wait_for_line lost0.out "'loss'" || { echo "rank 0 logged no loss within 60 s"; kill -9 "$pid_lost0" "$pid_lost1"; tail -3 lost0.err; return 1; }
  local started=$SECONDS
  kill "-$signal" "$pid_lost1"
  wait "$pid_lost0"; local s0=$?
  local took=$((SECONDS - started))
  kill -9 "$pid_lost1" 2>/dev/null; wait "$pid_lost1" 2>/dev/null
  echo "rank 0 exited with $s0 after ${took} s (--ddp_timeout $timeout): $(tail -1 lost0.err)"
  [[ $s0 -eq 5 && $took -le $timeout ]] && grep -q "rank 1 stopped responding" lost0.err && ! grep -q "terminate called\|Traceback\|Exception raised from" lost0.err
}
check "SIGKILL of rank 1: rank 0 exits 5 at once, naming rank 1" lost_rank_is_named KILL 30
check "rank 1 hangs (SIGSTOP): rank 0 exits 5 within --ddp_timeout, naming rank 1" lost_rank_is_named STOP 8

# A rank stopped while the rendezvous is under way (the store, then the process group's connections):
# the rendezvous as a whole honours --ddp_timeout. Rank 1 is stopped as soon as its process exists,
# wherever it then is; rank 0 gives up within the timeout plus 1 s for its start-up (loading
# LibTorch and the data) before the rendezvous begins.
stopped_during_rendezvous() {
  local timeout=6 port started took
  port=$(free_port)
  started=$(date +%s%N)
  start_rank 0 "$port" early0 "${common[@]}" --max_steps 5 --ddp_timeout "$timeout" --output_dir early_stop
  start_rank 1 "$port" early1 "${common[@]}" --max_steps 5 --ddp_timeout "$timeout" --output_dir early_stop
  kill -STOP "$pid_early1"
  wait "$pid_early0"; local s0=$?
  took=$((($(date +%s%N) - started) / 1000000))
  kill -9 "$pid_early1" 2>/dev/null; wait "$pid_early1" 2>/dev/null
  echo "rank 0 exited with $s0 after ${took} ms (--ddp_timeout $timeout): $(tail -1 early0.err)"
  [[ $s0 -eq 5 && $took -le $(((timeout + 1) * 1000)) ]] && ! grep -q "terminate called\|Traceback\|Exception raised from" early0.err
}
check "rank 1 stopped during the rendezvous: rank 0 exits 5 within --ddp_timeout" stopped_during_rendezvous

# Rank 0 serves the store: when it fails on its own (here a save over the file size limit), rank 1
# still learns why before the store goes.
store_host_failure_is_named() {
  local port flags=(--max_steps 40 --logging_steps 10 --eval_strategy no --save_strategy steps --save_steps 20)
  port=$(free_port)
  RANK_FILE_LIMIT=64 start_rank 0 "$port" host0 "${common[@]}" "${flags[@]}" --output_dir hostfail
  start_rank 1 "$port" host1 "${common[@]}" "${flags[@]}" --output_dir hostfail
  wait "$pid_host0"; local s0=$?
  wait "$pid_host1"; local s1=$?
  echo "rank 0 exited with $s0: $(tail -1 host0.err)"
  echo "rank 1 exited with $s1: $(tail -1 host1.err)"
  [[ $s0 -eq 1 && $s1 -eq 5 ]] && grep -q "rank 0 failed: .*File too large" host1.err &&
    ! grep -q "terminate called\|Traceback\|Exception raised from" host0.err host1.err
}
check "rank 0 (the store's host) fails to save: rank 1 exits 5 quoting rank 0's reason" store_host_failure_is_named

# (d) only rank 0 writes: rank 1, given its own output folder and working directory, leaves both empty.
only_rank_zero_writes() {
  mkdir -p cwd0 cwd1
  local port flags=(--max_steps 60 --logging_steps 10 --eval_strategy steps --eval_steps 30 --save_strategy steps --save_steps 30 --report_to tensorboard)
  port=$(free_port)
  RANK_CWD=cwd0 start_rank 0 "$port" w0 "${common[@]}" "${flags[@]}" --disable_tqdm false --output_dir "$work/written0"
  RANK_CWD=cwd1 start_rank 1 "$port" w1 "${common[@]}" "${flags[@]}" --disable_tqdm false --output_dir "$work/written1"
  wait "$pid_w0" || { echo "rank 0 failed"; tail -n 3 w0.err; return 1; }
  wait "$pid_w1" || { echo "rank 1 failed"; tail -n 3 w1.err; return 1; }
  [[ ! -e written1 ]] || { echo "rank 1 wrote:"; find written1; return 1; }
  [[ -z $(ls -A cwd1) ]] || { echo "rank 1 wrote in its working directory:"; ls -A cwd1; return 1; }
  [[ ! -s w1.out && ! -s w1.err ]] || { echo "rank 1 printed:"; head -3 w1.out w1.err; return 1; }
  grep -q "test accuracy" w0.out || { echo "rank 0 printed no result"; return 1; }
  $PY - <<'PYEOF'
import json, os
ckpt = "written0/checkpoint-60"
files = set(os.listdir(ckpt))
assert {"rng_state_0.pth", "rng_state_1.pth"} <= files and "rng_state.pth" not in files, files
assert json.load(open(f"{ckpt}/loop_state.json"))["world_size"] == 2
state = json.load(open(f"{ckpt}/trainer_state.json"))
expected = {"best_global_step", "best_metric", "best_model_checkpoint", "epoch", "eval_steps", "global_step",
            "is_hyper_param_search", "is_local_process_zero", "is_world_process_zero", "log_history", "logging_steps",
            "max_steps", "num_input_tokens_seen", "num_train_epochs", "save_steps", "stateful_callbacks", "total_flos",
            "train_batch_size", "trial_name", "trial_params"}
assert set(state) == expected, set(state) ^ expected
assert os.listdir("written0/runs"), "no TensorBoard events from rank 0"
PYEOF
}
check "only rank 0 writes and prints; the checkpoint records world size 2 and both RNG states" only_rank_zero_writes

# (e) early stopping takes the same decision on both ranks (metrics reduced over the ranks' shards).
early_stopping_stops_both() {
  local flags=(--max_steps 400 --eval_strategy steps --eval_steps 20 --save_strategy steps --save_steps 20 --load_best_model_at_end true
               --early_stopping_patience 1 --early_stopping_threshold 10)
  "$TORCHRUN" --nproc_per_node 2 --master_port "$(free_port)" --no_python "$BIN" "${common[@]}" "${flags[@]}" \
    --output_dir early > early.log 2>&1 || { echo "torchrun failed"; tail -5 early.log; return 1; }
  $PY - <<'PYEOF'
import json
state = json.load(open("early/trainer_state.json"))
evals = [e for e in state["log_history"] if "eval_loss" in e]
assert state["global_step"] == 40, state["global_step"]  # patience 1, threshold 10: the second evaluation stops
assert [e["step"] for e in evals][:2] == [20, 40], evals
PYEOF
}
check "early stopping stops both ranks at the same step (torchrun)" early_stopping_stops_both

# Evaluation sharded over 2 ranks gives the single process's metrics.
sharded_evaluation_matches() {
  local flags=(--max_steps 10 --eval_strategy no --save_strategy no --per_device_eval_batch_size 7)
  "$BIN" "${common[@]}" "${flags[@]}" --per_device_train_batch_size 16 --output_dir eval_one > eval_one.log 2>&1 || return 1
  two_ranks evaltwo "${common[@]}" "${flags[@]}" --per_device_train_batch_size 8 --output_dir eval_two
  [[ $status_evaltwo0 -eq 0 && $status_evaltwo1 -eq 0 ]] || { tail -n 3 evaltwo0.err evaltwo1.err; return 1; }
  local a b
  a=$(grep "test accuracy" eval_one.log | sed 's/(loss \([0-9.e-]*\).*/\1/')
  b=$(grep "test accuracy" evaltwo0.out | sed 's/(loss \([0-9.e-]*\).*/\1/')
  echo "one process: $(grep 'test accuracy' eval_one.log); two: $(cat evaltwo0.out | grep 'test accuracy')"
  $PY -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); assert a[2] == b[2], (a, b); assert abs(float(a[3]) - float(b[3])) < 1e-5, (a, b)' "$a" "$b"
}
check "sharded evaluation over 2 ranks = one process's accuracy and loss" sharded_evaluation_matches

# A misconfigured job fails fast and clearly.
bad_launch() {
  local out
  out=$(RANK=0 WORLD_SIZE=2 "$BIN" "${common[@]}" --max_steps 1 --output_dir bad 2>&1); local s=$?
  [[ $s -eq 2 && $out == *"MASTER_ADDR is not set"* ]] || { echo "$s: $out"; return 1; }
  out=$(RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$(free_port) "$BIN" "${common[@]}" --max_steps 1 --ddp_timeout 2 \
        --output_dir bad 2>&1); s=$?
  [[ $s -eq 5 && $out == *"did not complete within --ddp_timeout 2 s"* ]] || { echo "$s: $out"; return 1; }
  out=$(RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$(free_port) "$BIN" "${common[@]}" --max_steps 1 --ddp_backend nccl \
        --output_dir bad 2>&1); s=$?
  # A CUDA build of LibTorch has NCCL, and refuses it for a run on the CPU; a CPU build has none.
  local why="this build of LibTorch has no NCCL"
  "$BIN" env | grep -q -- '- CUDA build: yes' && why="needs CUDA devices, and this run trains on the CPU"
  [[ $s -eq 2 && $out == *"--ddp_backend nccl: $why"* ]] || { echo "$s: $out"; return 1; }
}
check "bad launches: missing MASTER_ADDR (2), nobody joins (5), nccl without CUDA (2)" bad_launch

# Ranks started with other arguments would train apart (or hang in mismatched collectives): both stop.
ranks_with_other_arguments() {
  local port
  port=$(free_port)
  start_rank 0 "$port" args0 "${common[@]}" --max_steps 4 --output_dir args
  start_rank 1 "$port" args1 "${common[@]}" --max_steps 4 --output_dir args --learning_rate 0.02 --ddp_bucket_cap_mb 1
  wait "$pid_args0"; local s0=$?
  wait "$pid_args1"; local s1=$?
  local want="rank 1's arguments differ from rank 0's (--learning_rate: 0.02 on rank 1, 0.01 on rank 0; --ddp_bucket_cap_mb: 1 on rank 1, null on rank 0)"
  for r in 0 1; do
    grep -qF "$want" "args$r.err" || { echo "rank $r:"; cat "args$r.err"; return 1; }
    ! grep -q "terminate called\|Traceback" "args$r.err" || { cat "args$r.err"; return 1; }
  done
  [[ $s0 -eq 5 && $s1 -eq 5 && ! -e args/checkpoint-4 ]] || { echo "statuses $s0 $s1"; return 1; }
}
check "a rank started with another --learning_rate and bucket size: both exit 5, naming both" ranks_with_other_arguments

# A parameter that no rank uses keeps no gradient, as in one process (the original's default,
# find_unused_parameters); with --ddp_find_unused_parameters false it is averaged as zero, which
# weight decay then acts on, and rank 0 says so once.
unused_parameter_stays_untouched() {
  cat > spare.py <<'PYEOF'
import torch
class WithSpare(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.spare = torch.nn.Parameter(torch.ones(4))
    def forward(self, x):
        return self.fc(x)
torch.jit.script(WithSpare()).save("spare.pt")
PYEOF
  $PY spare.py || return 1
  local flags=(--model spare.pt --max_steps 6 --eval_strategy no --save_strategy steps --save_steps 6 --weight_decay 0.5)
  "$BIN" "${common[@]}" "${flags[@]}" --per_device_train_batch_size 16 --output_dir spare_one > spare_one.log 2>&1 || { tail -3 spare_one.log; return 1; }
  two_ranks sparefind "${common[@]}" "${flags[@]}" --per_device_train_batch_size 8 --output_dir spare_find
  two_ranks sparezero "${common[@]}" "${flags[@]}" --per_device_train_batch_size 8 --output_dir spare_zero --ddp_find_unused_parameters false
  for s in "$status_sparefind0" "$status_sparefind1" "$status_sparezero0" "$status_sparezero1"; do
    [[ $s -eq 0 ]] || { echo "statuses $status_sparefind0 $status_sparefind1 $status_sparezero0 $status_sparezero1"; tail -n 3 sparefind0.err sparezero0.err; return 1; }
  done
  ! grep -q "got no gradient" sparefind0.err sparefind1.err || { echo "warned with find_unused_parameters"; return 1; }
  grep -q "Parameter 'spare' got no gradient on rank 0 of 2 at step 1: averaged as zero (--ddp_find_unused_parameters false)" sparezero0.err ||
    { echo "no warning naming 'spare':"; cat sparezero0.err; return 1; }
  [[ $(grep -c "got no gradient" sparezero0.err) -eq 1 ]] || { echo "warned more than once"; return 1; }
  $PY - <<'PYEOF' || return 1
import json, struct
import numpy as np
def spare(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    info = json.loads(raw[8 : 8 + n])["spare"]
    begin, end = info["data_offsets"]
    return np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype=np.float32)
one, find, zero = (spare(f"{d}/checkpoint-6/model.safetensors") for d in ("spare_one", "spare_find", "spare_zero"))
assert (one == 1).all() and (find == 1).all(), (one, find)
assert (zero < 1).all(), zero  # decayed six times
print(f"spare parameter: one process {one[0]}, find_unused {find[0]}, averaged as zero {zero[0]:.6f}")
PYEOF
  $PY "$SRC/tests/cli/compare_weights.py" spare_one/checkpoint-6/model.safetensors spare_find/checkpoint-6/model.safetensors 1e-5
}
check "a parameter no rank uses keeps no gradient as in one process; --ddp_find_unused_parameters false averages it as zero, with a warning" unused_parameter_stays_untouched

summary
