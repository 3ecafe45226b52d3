#!/usr/bin/env bash
# Installs the Debian 12 packages trainer needs.
#   scripts/install-deps.sh           to build it and run its main job
#   scripts/install-deps.sh --tests   also what the tests use (Python with torch, Chromium)
# Safe to run again: packages already installed are skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread   # LibTorch 1.13 (CPU), its c10d headers, a fast BLAS
  nlohmann-json3-dev libyaml-cpp-dev               # JSON layer, YAML configs
  libprotobuf-dev protobuf-compiler                # TensorBoard event files
  libgtest-dev libgmock-dev libbenchmark-dev       # test and benchmark frameworks (CMake looks for them)
  zlib1g-dev                                       # gzipped idx files
  libcurl4-openssl-dev                             # the one HTTP client (remote trackers)
  libssl-dev                                       # digests: artifact manifests, request signing
  libsqlite3-dev                                   # trackio's project databases
  dataset-fashion-mnist                            # the main job's data
)
test_packages=(
  python3 python3-torch python3-numpy python3-yaml # golden values, interop and file-format checks
  chromium                                         # renders report.html headless
  sqlite3                                          # reads trackio databases back
  python3-botocore                                 # an independent SigV4 signer (the S3 tests' checking proxy)
  openssl                                          # a test certificate authority for the HTTPS tests
)
# From the npm registry, into .test-tools/ (ignored by git): s3rver, the S3-compatible server the
# Flyte tests sync checkpoints to. Debian's npm is installed only where no npm is on the PATH
# (a NodeSource nodejs brings its own).
s3rver_version=3.7.1

tests=false
case "${1:-}" in
  "") ;;
  --tests) tests=true; packages+=("${test_packages[@]}") ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac
if $tests && ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if $tests; then
  tools=$(cd "$(dirname "$0")/.." && pwd)/.test-tools
  if [[ -x $tools/node_modules/.bin/s3rver ]]; then
    echo "install-deps: s3rver already in $tools"
  else
    echo "install-deps: installing s3rver $s3rver_version into $tools (npm registry)"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "s3rver@$s3rver_version" >/dev/null
  fi
fi
