#!/usr/bin/env bash
# Installs every Debian 12 package that trainer needs to build, test and run its main job.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread   # LibTorch 1.13 (CPU), its c10d headers, a fast BLAS
  nlohmann-json3-dev libyaml-cpp-dev               # JSON layer, YAML configs
  libgtest-dev libgmock-dev libbenchmark-dev       # tests and benchmarks
  zlib1g-dev                                       # gzipped idx files
  libprotobuf-dev protobuf-compiler                # TensorBoard event files
  dataset-fashion-mnist                            # the main job's data
  python3 python3-torch python3-numpy python3-yaml # golden values, interop and file-format checks
  chromium                                         # the report test renders report.html headless
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
