#!/usr/bin/env bash
# Data-parallel training on one box, as ratios measured in this run:
#   1. steps/s of the CNN, 1 process x 2 threads (batch 64) against 2 processes x 1 thread
#      (batch 32 each, the same global batch), through the trainer program, 3 rounds interleaved;
#      no thread variables: the Trainer's own choice (a CNN on 2 cores: 2 LibTorch threads and 1
#      OpenBLAS thread in one process, 1 and 1 in each of two);
#      and 2 processes with --ddp_find_unused_parameters false against the default (true): what
#      agreeing on unused parameters costs;
#   2. the share of the gradient all-reduce that the backward pass hides (bench/ddp_overlap.cpp);
#   3. PyTorch's own Gloo all-reduce of the same sizes (bench/gloo_latency.py), the baseline.
#   bench/distributed.sh [BUILD_DIR]   (default: build; builds the program and the benchmark)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRAINER_PYTHON:-$root/.venv/bin/python}  # the torch of .venv, the same version as the LibTorch
build=${1:-$root/build}
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target trainer_cli ddp_overlap >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
steps=${BENCH_STEPS:-300}
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"

port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
common=(train --model cnn --max_steps "$steps" --logging_steps 100 --eval_strategy no --save_strategy no --report_to none
        --disable_tqdm true --max_train_samples 20000)
steps_per_second() { "$python" -c 'import json, sys; print([e for e in json.load(open(sys.argv[1]))["log_history"] if "train_runtime" in e][0]["train_steps_per_second"])' "$1"; }

two_processes() {  # two_processes OUTPUT_DIR ARGS...: 2 ranks x 1 thread, batch 32 each
  local dir=$1 p
  shift
  p=$(port)
  for rank in 0 1; do
    RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p \
      "$build/trainer" "${common[@]}" --per_device_train_batch_size 32 --output_dir "$dir" "$@" >/dev/null 2>&1 &
  done
  wait
}

one=() two=() two_no_find=()
for round in 1 2 3; do
  "$build/trainer" "${common[@]}" --per_device_train_batch_size 64 --output_dir "$out/one" >/dev/null 2>&1
  one+=("$(steps_per_second "$out/one/trainer_state.json")")
  two_processes "$out/two"
  two+=("$(steps_per_second "$out/two/trainer_state.json")")
  two_processes "$out/two_no_find" --ddp_find_unused_parameters false
  two_no_find+=("$(steps_per_second "$out/two_no_find/trainer_state.json")")
done
"$python" - "${one[*]}" "${two[*]}" "${two_no_find[*]}" <<'PYEOF'
import statistics, sys
one, two, no_find = ([float(x) for x in a.split()] for a in sys.argv[1:4])
m = statistics.median
print(f"CNN, global batch 64: 1 process x 2 threads {m(one):.1f} steps/s, "
      f"2 processes x 1 thread {m(two):.1f} steps/s; ratio (2 processes / 1) {m(two) / m(one):.3f}"
      f"  (rounds: {one} / {two})")
pairs = [a / b for a, b in zip(two, no_find)]
print(f"2 processes, --ddp_find_unused_parameters true (default) / false: {m(two):.1f} / {m(no_find):.1f} steps/s; "
      f"median of the rounds' ratios {m(pairs):.3f} (rounds: {[round(r, 3) for r in pairs]})")
PYEOF

# The CNN's gradients (0.9 MiB) fit DDP's first 1 MiB bucket, which fills only when backward ends:
# 256 KiB buckets split them in two and 64 KiB ones in more, so that the first all-reduces can run
# under the convolutions' backward.
for bucket in 25600 256 64; do
  p=$(port)
  for rank in 1 0; do
    RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$p \
      "$build/bench/ddp_overlap" 4 "$bucket" 15 > "$out/overlap$rank.json" &
  done
  wait
  echo "all-reduce hidden behind backward, buckets of $bucket KiB: $(cat "$out/overlap0.json")"
done

OMP_NUM_THREADS=1 "$root/.venv/bin/torchrun" --nproc_per_node 2 --master_port "$(port)" "$root/bench/gloo_latency.py" \
  > "$out/torch.txt" 2>/dev/null
echo "PyTorch's own Gloo all-reduce (torch.distributed, the same 2 processes): $(grep -o '{.*}' "$out/torch.txt" | tail -1)"
