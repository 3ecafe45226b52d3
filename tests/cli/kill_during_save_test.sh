#!/usr/bin/env bash
# Crash safety: kill -9 real training runs at random moments while they save a checkpoint every
# step (with rotation), many times. After every kill each checkpoint-* directory must be complete
# (a resume would take it and succeed); each next run resumes from the newest one. Prints
# "N passed, N failed".
set -u
BIN=${TRAINER_BIN:?set TRAINER_BIN to the trainer executable}
KILLS=${KILLS:-30}
PY=${TRAINER_PYTHON:-python3}
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/run
common=(train --train_file "$DATA" --max_train_samples 4000 --eval_strategy no --save_strategy steps --save_steps 1
        --save_total_limit 3 --max_steps 100000 --logging_steps 50 --disable_tqdm --output_dir "$out")
passed=0
failed=0
checked=0

validate() {
  "$PY" - "$out" <<'PYEOF'
import json, os, re, struct, sys
run = sys.argv[1]
bad = []
count = 0
# A run killed during start-up may not have made its output directory yet.
for name in sorted(os.listdir(run) if os.path.isdir(run) else []):
    m = re.fullmatch(r"checkpoint-(\d+)", name)
    if not m:
        continue
    count += 1
    d = os.path.join(run, name)
    try:
        with open(os.path.join(d, "trainer_state.json")) as f:
            state = json.load(f)
        assert state["global_step"] == int(m.group(1)), "global_step does not match the name"
        with open(os.path.join(d, "model.safetensors"), "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        size = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
        assert len(raw) == 8 + n + size, "model.safetensors is truncated"
        for f in ("optimizer.safetensors", "scheduler.json", "rng_state.pth", "loop_state.json", "training_args.json"):
            assert os.path.getsize(os.path.join(d, f)) > 0, f + " is empty"
    except Exception as e:  # noqa: BLE001 - any failure means a broken checkpoint
        bad.append(f"{name}: {e}")
print(count)
for b in bad:
    print("BROKEN", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
}

for ((i = 1; i <= KILLS; i++)); do
  resume=()
  compgen -G "$out/checkpoint-*" >/dev/null && resume=(--resume_from_checkpoint last)
  "$BIN" "${common[@]}" "${resume[@]}" >"$work/log" 2>&1 &
  pid=$!
  # Past start-up (loading the data; slow on a loaded machine) and into the saves, at a random moment.
  for _ in $(seq 600); do
    grep -q '^Training ' "$work/log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if n=$(validate); then
    passed=$((passed + 1))
    checked=$((checked + n))
  else
    failed=$((failed + 1))
    echo "FAIL after kill $i"
    tail -5 "$work/log"
  fi
done
echo "$KILLS kills, $checked checkpoint directories checked"

# The run finishes from the newest checkpoint.
last=$(ls -d "$out"/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1)
if [[ -n $last ]] && "$BIN" "${common[@]}" --resume_from_checkpoint last --max_steps $((last + 5)) >"$work/log" 2>&1 &&
   grep -q "after $((last + 5)) steps" "$work/log"; then
  passed=$((passed + 1))
  echo "ok   resumed from checkpoint-$last and finished"
else
  failed=$((failed + 1))
  echo "FAIL resume from the newest checkpoint (checkpoint-$last)"
  tail -5 "$work/log"
fi
# No temporary directory is taken for a checkpoint, and stale ones are cleaned by later saves.
stale=$(ls -a "$out" | grep -c '^\.checkpoint-' || true)
if [[ $stale -le 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $stale stale temporaries"; fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
