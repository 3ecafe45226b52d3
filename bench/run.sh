#!/usr/bin/env bash
# Runs every benchmark and prints one table, each result as a ratio against its baseline measured
# in the same run (absolute times drift on shared machines).
#   bench/run.sh [BUILD_DIR]      (default: build; configures and builds the benchmarks first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${TRAINER_PYTHON:-$root/.venv/bin/python}  # the torch of .venv, the same version as the LibTorch
build=${1:-$root/build}
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target benchmarks >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)" >&2
echo "running micro-benchmarks..." >&2
"$build/bench/micro_bench" --benchmark_min_time=0.3 --benchmark_format=json >"$out/micro.json" 2>/dev/null
echo "running training throughput (each configuration in its own process, batch 64)..." >&2
# Three rounds, the configurations interleaved within each; the median of the three is reported.
# Each process is also timed whole (start-up, data loading and training) for the wall-time rows.
timed() {  # timed LABEL COMMAND... : appends the command's JSON line with its wall time
  local label=$1 start end line
  shift
  start=$(date +%s%N)
  line=$("$@" 2>/dev/null | tail -1)
  end=$(date +%s%N)
  echo "${line%\}}, \"wall_ms\": $(((end - start) / 1000000)), \"label\": \"$label\"}" >>"$out/throughput.jsonl"
}
for round in 1 2 3; do
  for model in mlp cnn; do
    steps=$([[ $model == mlp ]] && echo 1500 || echo 200)
    for mode in plain trainer; do
      timed "$model/$steps" "$build/bench/train_throughput" "$mode" "$model" "$steps"
    done
    timed "$model/$steps" "$python" "$root/bench/python_loop.py" "$model" "$steps"
    timed "$model/$steps" "$python" "$root/bench/hf_trainer_peer.py" "$model" "$steps"
  done
done
echo "running in-process pairs (each ratio: the median over alternating runs in one process)..." >&2
pairs() { "$build/bench/train_throughput" pairs "$@" 2>/dev/null | tail -1 >>"$out/pairs.jsonl"; }
pairs plain trainer_torch mlp 1500 5
pairs plain trainer mlp 1500 5
pairs plain trainer_torch cnn 200 3
pairs plain trainer cnn 200 3
# Whole runs, so the optimizer's state reaches its long-run (subnormal) values.
pairs plain trainer mlp 6000 3
pairs trainer_adamw_torch trainer mlp 6000 3
pairs trainer_exact trainer mlp 6000 3
echo "running the main job with the new and the old defaults..." >&2
for round in 1 2 3; do
  for ftz in true false; do
    rm -rf "$out/main_job"
    "$build/trainer" train --output_dir "$out/main_job" --disable_tqdm true --flush_denormal $ftz 2>&1 |
      grep -o "'train_steps_per_second': [0-9.e+]*" | sed "s/.*: /$ftz /" >>"$out/main_job.txt"
  done
done
echo "running trackers on vs off..." >&2
"$root/bench/trackers.sh" "$build" >"$out/trackers.txt"
echo "running checkpoint save stall..." >&2
"$build/bench/save_stall" --steps 32 --save_steps 8 2>/dev/null | tail -5 >"$out/save.txt"

"$python" - "$out" <<'PYEOF'
import json, sys, re
out = sys.argv[1]
micro = {b["name"]: b for b in json.load(open(f"{out}/micro.json"))["benchmarks"]}
def t(name):
    return micro[name]["real_time"]
rows = []
for n in ("1048576", "10485760"):
    base = t(f"BM_AdamWStep<torch::optim::AdamW>/{n}/real_time")
    fused = t(f"BM_AdamWStep<trainer::FusedAdamW>/{n}/real_time")
    copy_bw = micro[f"BM_CopySameBytes/{n}/real_time"]["bytes_per_second"]
    fused_bw = micro[f"BM_AdamWStep<trainer::FusedAdamW>/{n}/real_time"]["bytes_per_second"]
    m = int(n) // (1 << 20)
    rows.append((f"AdamW step, {m}M params: FusedAdamW vs torch::optim::AdamW", f"{base:.2f} ms -> {fused:.2f} ms", f"{base / fused:.2f}x faster"))
    rows.append((f"AdamW step, {m}M params: bandwidth vs a copy of the same bytes", f"{fused_bw / 1e9:.1f} vs {copy_bw / 1e9:.1f} GB/s", f"{fused_bw / copy_bw:.2f}"))
rows.append(("clip grad norm, 10M: fused vs torch::nn::utils::clip_grad_norm_",
             f"{t('BM_ClipLibTorch/10485760/real_time'):.2f} ms -> {t('BM_ClipFused/10485760/real_time'):.2f} ms",
             f"{t('BM_ClipLibTorch/10485760/real_time') / t('BM_ClipFused/10485760/real_time'):.2f}x faster"))
for k in ("1", "8", "64"):
    b = micro[f"BM_DispatchStepEnd/{k}"]
    rows.append((f"callback dispatch, {k} no-op callbacks", f"{b['real_time']:.1f} ns per event", f"{b['ns_per_callback'] * 1e9:.2f} ns per callback"))
enc, crc = t("BM_SafetensorsEncode/10485760/real_time"), t("BM_ManifestChecksum/10485760/real_time")
rows.append(("checkpoint manifest, 10M params: CRC-32 of model.safetensors vs encoding it", f"{enc:.2f} ms vs {crc:.2f} ms", f"{crc / enc:.2f}"))
off, on = t("BM_Subnormal/0/real_time"), t("BM_Subnormal/1/real_time")
rows.append(("subnormal elementwise ops: flush-to-zero on vs off", f"{off:.0f} us -> {on:.0f} us", f"{off / on:.2f}x"))
runs = {}
for line in open(f"{out}/throughput.jsonl"):
    r = json.loads(line)
    runs.setdefault((r["label"], r["mode"]), []).append(r)
def median(label, mode, key="steps_per_second"):
    values = sorted(r[key] for r in runs[(label, mode)])
    return values[len(values) // 2]
def ratio_row(name, label, mode, base, key="steps_per_second", unit="steps/s"):
    a, b = median(label, mode, key), median(label, base, key)
    shown = f"{a / 1000:.2f} vs {b / 1000:.2f} s" if unit == "s" else f"{a:.1f} vs {b:.1f} {unit}"
    rows.append((name, shown, f"{a / b:.3f}"))
pairs = {}
for line in open(f"{out}/pairs.jsonl"):
    p = json.loads(line)
    pairs[(p["pair"], p["model"], p["steps"])] = p
def pair_row(name, pair, model, steps):
    p = pairs[(pair, model, steps)]
    rows.append((name, f"{p['b_steps_per_second']:.1f} vs {p['a_steps_per_second']:.1f} steps/s",
                 f"{p['median_ratio']:.3f} ({p['min_ratio']:.2f}-{p['max_ratio']:.2f})"))
for model, label, steps in (("MLP", "mlp/1500", 1500), ("CNN", "cnn/200", 200)):
    pair_row(f"{model} steps/s: Trainer --optim adamw_torch --max_grad_norm 0 vs plain LibTorch loop (target >= 0.99)", "trainer_torch/plain", model.lower(), steps)
    pair_row(f"{model} steps/s: Trainer defaults (fused AdamW, clipping 1.0) vs plain loop without clipping (target >= 1.0)", "trainer/plain", model.lower(), steps)
    ratio_row(f"{model} steps/s: Python loop (DataLoader + torch.optim.AdamW) vs plain LibTorch loop (separate processes)", label, "python", "plain")
    ratio_row(f"{model} whole process: Trainer defaults vs plain LibTorch loop (target <= 1.0)", label, "trainer", "plain", "wall_ms", "s")
    ratio_row(f"{model} whole process: Trainer defaults vs Python loop (target <= 0.6)", label, "trainer", "python", "wall_ms", "s")
    ratio_row(f"{model} steps/s: Trainer defaults vs the HF Trainer's defaults (separate processes)", label, "trainer", "hf_trainer")
    ratio_row(f"{model} whole process: Trainer defaults vs the HF Trainer's defaults", label, "trainer", "hf_trainer", "wall_ms", "s")
    ratio_row(f"{model} peak RSS: Trainer defaults vs the HF Trainer's defaults", label, "trainer", "hf_trainer", "peak_rss_mb", "MB")
pair_row("MLP 6000 steps/s: Trainer defaults vs plain loop without clipping (target >= 1.2)", "trainer/plain", "mlp", 6000)
pair_row("MLP 6000 steps/s: FusedAdamW vs LibTorch's AdamW, both in the Trainer with its defaults (target > 1)", "trainer/trainer_adamw_torch", "mlp", 6000)
pair_row("MLP 6000 steps/s: flush-to-zero on (default) vs off (--flush_denormal false)", "trainer/trainer_exact", "mlp", 6000)
p = pairs[("trainer/trainer_exact", "mlp", 6000)]
rows.append(("MLP 6000 train_loss: flush-to-zero on vs off", f"{p['b_loss']:.6f} vs {p['a_loss']:.6f}", f"{p['b_loss'] - p['a_loss']:+.1e}"))
main = {"true": [], "false": []}
for line in open(f"{out}/main_job.txt"):
    ftz, sps = line.split()
    main[ftz].append(float(sps))
new, old = sorted(main["true"])[1], sorted(main["false"])[1]
rows.append(("main job (trainer train) steps/s: new defaults vs --flush_denormal false (the old defaults; target >= 1.8)",
             f"{new:.1f} vs {old:.1f}", f"{new / old:.3f}"))
save = open(f"{out}/save.txt").read()
sync = float(re.search(r"^sync\s+([\d.]+)", save, re.M).group(1))
asyn = float(re.search(r"^async\s+([\d.]+)", save, re.M).group(1))
rows.append(("checkpoint stall per save, 50M params: --save_async vs sync", f"{sync:.3f} s -> {asyn:.3f} s", f"{asyn / sync:.3f}"))
w = [max(len(r[i]) for r in rows) for i in range(3)]
print(f"| {'benchmark'.ljust(w[0])} | {'measured'.ljust(w[1])} | {'ratio'.ljust(w[2])} |")
print(f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 2)}|{'-' * (w[2] + 2)}|")
for r in rows:
    print(f"| {r[0].ljust(w[0])} | {r[1].ljust(w[1])} | {r[2].ljust(w[2])} |")
for line in open(f"{out}/trackers.txt"):
    print(line.rstrip())
PYEOF
