#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, as one prepared script for a machine that has a GPU, torch 2.x
# built for CUDA (python3 imports it), nvcc, cmake and ninja, but neither Debian's -dev packages nor
# a network (the device machines lent to this project).
#
#   scripts/gpu-check.sh --fetch   here, with Debian's registry: downloads the .deb files the build
#                                  and the main job need (about 48 MB) into .gpu-check/debs/
#   scripts/gpu-check.sh           there: unpacks them into .gpu-check/root/, builds the program and
#                                  gpu_tests against that machine's torch, then runs
#                                    1. gpu_tests (device placement, pinned batches, autocast, the
#                                       fused optimizers' CUDA kernels, NCCL with 2 GPUs),
#                                    2. the main job on CUDA (Fashion-MNIST, test accuracy >= 0.87),
#                                    3. a 2-rank NCCL job through torchrun, when there are 2 GPUs,
#                                  each ending in one line "gpu-check: PASS|FAIL|SKIP <check>: <detail>".
# Exit status: 0 when nothing failed. With the device tool: run `scripts/gpu-check.sh` with carry
# [".gpu-check/debs"] (only the packages: a local run's build folder is too large to carry). The
# build takes 5.4 min on 2 cores here; on 16 cores expect 1-2 min, and the checks about 1 min.
set -uo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
here=$root_dir/.gpu-check
debs=$here/debs

# What the build needs from Debian, and the libraries those need at run time that a machine
# without Debian's packages may lack (libcurl's). C and C++ runtimes come from the machine itself.
packages=(
  nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7 libgloo-dev zlib1g-dev
  libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32
  libcurl4-openssl-dev libcurl4 libssl-dev libssl3 libsqlite3-dev libsqlite3-0
  libgtest-dev libgmock-dev googletest
  libbrotli1 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2 libidn2-0
  libunistring2 libldap-2.5-0 libsasl2-2 libsasl2-modules-db libnghttp2-14 libpsl5 librtmp1 libgnutls30
  libhogweed6 libnettle8 libgmp10 libp11-kit0 libtasn1-6 libffi8 libssh2-1 libzstd1
  dataset-fashion-mnist
)

if [[ ${1:-} == --fetch ]]; then
  rm -rf "$debs" && mkdir -p "$debs"
  (cd "$debs" && apt-get download "${packages[@]}") || { echo "gpu-check: apt-get download failed (run apt-get update first)" >&2; exit 1; }
  echo "gpu-check: $(ls "$debs" | wc -l) packages, $(du -sh "$debs" | cut -f1), in $debs; carry .gpu-check/debs"
  exit 0
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--fetch]" >&2
  exit 2
fi

failed=0
report() {  # report PASS|FAIL|SKIP CHECK DETAIL
  echo "gpu-check: $1 $2: $3"
  [[ $1 == FAIL ]] && failed=1
  return 0
}
finish() {
  exit "$failed"
}

[[ -d $debs ]] || { report FAIL setup "no $debs: run scripts/gpu-check.sh --fetch where Debian's registry is reachable, and carry .gpu-check/debs"; finish; }
python=${TRAINER_PYTHON:-$(command -v python3)}  # the machine's python3 with torch, unless named
torch_line=$("$python" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.device_count())' 2>&1) \
  || { report FAIL setup "python3 has no torch: $torch_line"; finish; }
read -r torch_version cuda_version gpus <<< "$torch_line"
echo "gpu-check: torch $torch_version (CUDA $cuda_version), $gpus GPU(s), $(nproc) cores"

# 0. The build: the machine's torch, Debian's headers and libraries from the carried packages.
root=$here/root
libdir=$root/usr/lib/x86_64-linux-gnu
rm -rf "$root" && mkdir -p "$root"
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
# protoc runs during the build: its libraries are among the carried ones.
mkdir -p "$here/bin"
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$libdir" "$root/usr/bin/protoc" > "$here/bin/protoc"
chmod +x "$here/bin/protoc"
build=$here/build
started=$SECONDS
# DT_RPATH (not RUNPATH) reaches the carried libraries' own dependencies (libcurl's) too.
if ! cmake -S "$root_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRAINER_BUILD_EXAMPLES=OFF \
     -DTRAINER_PYTHON="$python" -DCMAKE_PREFIX_PATH="$root/usr" -DProtobuf_PROTOC_EXECUTABLE="$here/bin/protoc" \
     -DCMAKE_CXX_FLAGS="-isystem $root/usr/include -isystem $root/usr/include/x86_64-linux-gnu" \
     -DCMAKE_EXE_LINKER_FLAGS="-L$libdir -Wl,-rpath,$libdir -Wl,--disable-new-dtags" > "$here/configure.log" 2>&1; then
  report FAIL build "cmake failed: $(grep -m1 -A3 'Error' "$here/configure.log" | tr '\n' ' ')"
  finish
fi
if ! cmake --build "$build" --target trainer_cli gpu_tests -j "$(nproc)" > "$here/build.log" 2>&1; then
  report FAIL build "$(grep -m1 -B2 -A6 'error' "$here/build.log" | tr '\n' ' ' | cut -c1-600)"
  finish
fi
report PASS build "trainer and gpu_tests against torch $torch_version in $((SECONDS - started)) s"
trainer=$build/trainer
"$trainer" env | grep -E "LibTorch version|CUDA" | sed 's/^/gpu-check:   /'

# 1. The GPU tests.
"$build/tests/gpu_tests" > "$here/gpu_tests.log" 2>&1
status=$?
passed=$(grep -c '^\[       OK \]' "$here/gpu_tests.log")
skipped=$(grep -c '^\[  SKIPPED \]' "$here/gpu_tests.log")
if [[ $status -eq 0 && $passed -gt 0 ]]; then
  reason=$(grep -m1 -A1 ': Skipped$' "$here/gpu_tests.log" | tail -1 | cut -c1-120)
  report PASS gpu_tests "$passed passed, $skipped skipped${reason:+ (first: $reason)}"
else
  report FAIL gpu_tests "status $status, $passed passed, $skipped skipped: $(grep -E -A1 '^\[  FAILED  \]|Failure|: Skipped$' "$here/gpu_tests.log" | head -4 | tr '\n' ' ')"
fi

# 2. The main job on CUDA.
data=$root/usr/share/datasets/fashion-mnist
started=$SECONDS
(cd "$here" && "$trainer" train --dataset_dir "$data" --output_dir main_job --disable_tqdm true) > "$here/main_job.log" 2>&1
status=$?
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\).*/\1/p' "$here/main_job.log")
device=$(grep -o 'device [a-z]*[:0-9]*' "$here/main_job.log" | head -1)
if [[ $status -eq 0 && $device == "device cuda"* ]] && awk -v a="${accuracy:-0}" 'BEGIN { exit !(a >= 0.87) }'; then
  report PASS main_job "$device, test accuracy $accuracy in $((SECONDS - started)) s"
else
  report FAIL main_job "status $status, ${device:-no device line}, test accuracy ${accuracy:-none}: $(tail -2 "$here/main_job.log" | tr '\n' ' ')"
fi

# 3. Two ranks over NCCL.
if ((gpus < 2)); then
  report SKIP nccl_job "needs 2 GPUs, this machine has $gpus"
else
  torchrun=$(dirname "$python")/torchrun
  [[ -x $torchrun ]] || torchrun=$(command -v torchrun)
  started=$SECONDS
  (cd "$here" && "$torchrun" --nproc_per_node 2 --no_python "$trainer" train --dataset_dir "$data" --output_dir nccl_job \
     --max_steps 400 --eval_strategy no --save_strategy no --ddp_backend nccl --disable_tqdm true) > "$here/nccl_job.log" 2>&1
  status=$?
  if [[ $status -eq 0 ]] && grep -q "'train_loss'" "$here/nccl_job.log"; then
    report PASS nccl_job "2 ranks, 400 steps in $((SECONDS - started)) s"
  else
    report FAIL nccl_job "status $status: $(tail -3 "$here/nccl_job.log" | tr '\n' ' ')"
  fi
fi
finish
