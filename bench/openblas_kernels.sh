#!/usr/bin/env bash
# OpenBLAS's kernels on this CPU: the plain LibTorch loop (bench/train_throughput plain) under each
# OPENBLAS_CORETYPE, rounds interleaved so that neighbouring runs share the machine's load; prints
# each kernel's median steps/s and the median of its per-round ratios to the kernel OpenBLAS picks
# by itself. What decides
# whether `Performance: OpenBLAS runs its ... kernels` is worth saying on a CPU.
#   bench/openblas_kernels.sh [BUILD_DIR] [KERNELS...]   (default: build; Haswell SkylakeX Zen Prescott)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRAINER_PYTHON:-$root/.venv/bin/python}  # the torch of .venv, the same version as the LibTorch
build=${1:-$root/build}
shift || true
kernels=("${@:-Haswell SkylakeX Zen Prescott}")
read -r -a kernels <<< "${kernels[*]}"
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target train_throughput >/dev/null
rounds=${ROUNDS:-3}
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for model in "mlp 1500" "cnn 150"; do
    own=$("$build/bench/train_throughput" plain $model 2>/dev/null | grep -o '"steps_per_second": *[0-9.]*' | grep -o '[0-9.]*$')
    echo "$round ${model%% *} own $own" >> "$results"
    for k in "${kernels[@]}"; do
      s=$(OPENBLAS_CORETYPE=$k "$build/bench/train_throughput" plain $model 2>/dev/null | grep -o '"steps_per_second": *[0-9.]*' | grep -o '[0-9.]*$')
      echo "$round ${model%% *} $k $s" >> "$results"
    done
  done
done
"$python" - "$results" <<'PYEOF'
import collections, ctypes, statistics, sys
runs = collections.defaultdict(dict)  # (model, kernel) -> {round: steps/s}
for line in open(sys.argv[1]):
    rnd, model, kernel, sps = line.split()
    runs[(model, kernel)][rnd] = float(sps)
try:
    blas = ctypes.CDLL("libopenblas.so.0"); blas.openblas_get_corename.restype = ctypes.c_char_p
    own = blas.openblas_get_corename().decode()
except OSError:
    own = "?"
m = statistics.median
for model in ("mlp", "cnn"):
    base = runs[(model, "own")]
    cells = []
    for (mod, k), v in runs.items():
        if mod != model or k == "own":
            continue
        ratios = [v[r] / base[r] for r in v]
        cells.append(f"{k} {m(v.values()):.1f} (median of the rounds' ratios {m(ratios):.3f}, {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"{model}: OpenBLAS's own choice ({own}) {m(base.values()):.1f} steps/s; " + "; ".join(cells))
PYEOF
