#!/usr/bin/env bash
# Training speed with every local tracker on (dvclive, tensorboard, codecarbon, log_history,
# report) against --report_to none, logging every 10 steps: bench/tracker_overhead, one process per
# model, ROUNDS interleaved pairs (default 7).
#   bench/trackers.sh [BUILD_DIR]     prints table rows: | benchmark | measured | ratio |
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRAINER_PYTHON:-$root/.venv/bin/python}  # the torch of .venv, the same version as the LibTorch
build=${1:-$root/build}
rounds=${ROUNDS:-7}
cmake --build "$build" --target tracker_overhead >/dev/null
for model in mlp cnn; do
  steps=$([[ $model == mlp ]] && echo 2000 || echo 120)
  "$build/bench/tracker_overhead" "$model" "$rounds" "$steps" 2>/dev/null | tail -1
done | "$python" -c "$(cat <<'PYEOF'
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    m = r["model"].upper()
    print(f"| {m} steps/s, logging every 10 steps: every local tracker vs --report_to none "
          f"(median of {r['rounds']} pairs, range {r['ratio_min']:.3f}-{r['ratio_max']:.3f}) "
          f"| {r['trackers_steps_per_second']:.1f} vs {r['none_steps_per_second']:.1f} | {r['ratio']:.3f} |")
    cpu = r["writer_cpu_per_second"]
    detail = ", ".join(f"{k[2:]} {v * 1000:.2f}" for k, v in sorted(cpu.items()))
    total = sum(cpu.values()) + r["loop_cpu_per_second"]
    print(f"| {m} trackers' CPU per second of training: loop thread {r['loop_cpu_per_second'] * 1000:.2f} ms, "
          f"writers {sum(cpu.values()) * 1000:.2f} ms ({detail}) | {total * 1000:.2f} ms/s | {total:.4f} |")
PYEOF
)"
