#!/usr/bin/env bash
# Runs every benchmark and prints one table, each result as a ratio against its baseline measured
# in the same run (absolute times drift on shared machines).
#   bench/run.sh [BUILD_DIR]      (default: build; configures and builds the benchmarks first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target benchmarks >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%d)" >&2
echo "running micro-benchmarks..." >&2
"$build/bench/micro_bench" --benchmark_min_time=0.3 --benchmark_format=json >"$out/micro.json" 2>/dev/null
echo "running training throughput (each configuration in its own process)..." >&2
# Three rounds, the configurations interleaved within each; the median of the three is reported.
for round in 1 2 3; do
  for model in mlp cnn; do
    steps=$([[ $model == mlp ]] && echo 1500 || echo 200)
    for mode in loop_torch loop_fused trainer; do
      "$build/bench/train_throughput" "$mode" "$model" "$steps" 2>/dev/null | tail -1 >>"$out/throughput.jsonl"
    done
    /usr/bin/python3 "$root/bench/python_loop.py" "$model" "$steps" >>"$out/throughput.jsonl"
  done
done
echo "running trackers on vs off..." >&2
"$root/bench/trackers.sh" "$build" >"$out/trackers.txt"
echo "running checkpoint save stall..." >&2
"$build/bench/save_stall" --steps 32 --save_steps 8 2>/dev/null | tail -5 >"$out/save.txt"

/usr/bin/python3 - "$out" <<'PYEOF'
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
    runs.setdefault((r["model"], r["mode"]), []).append(r)
tp = {}
for key, rs in runs.items():
    rs.sort(key=lambda r: r["steps_per_second"])
    tp[key] = rs[len(rs) // 2]  # the median run
for model in ("mlp", "cnn"):
    b = tp[(model, "loop_fused")]
    for mode, label in (("trainer", "Trainer (default callbacks)"), ("loop_torch", "hand loop, torch::optim::AdamW"),
                        ("python", "Python loop, DataLoader + torch.optim.AdamW")):
        r = tp[(model, mode)]
        rows.append((f"{model.upper()} steps/s: {label} vs hand loop with FusedAdamW",
                     f"{r['steps_per_second']:.1f} vs {b['steps_per_second']:.1f}",
                     f"{r['steps_per_second'] / b['steps_per_second']:.3f}"))
    r = tp[(model, "trainer")]
    rows.append((f"{model.upper()} peak memory: Trainer vs hand loop with FusedAdamW", f"{r['peak_rss_mb']:.0f} vs {b['peak_rss_mb']:.0f} MB",
                 f"{r['peak_rss_mb'] / b['peak_rss_mb']:.3f}"))
    r = tp[(model, "python")]
    rows.append((f"{model.upper()} peak memory: Python loop vs hand loop with FusedAdamW", f"{r['peak_rss_mb']:.0f} vs {b['peak_rss_mb']:.0f} MB",
                 f"{r['peak_rss_mb'] / b['peak_rss_mb']:.3f}"))
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
