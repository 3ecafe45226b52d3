#!/usr/bin/env bash
# Installs what trainer needs on a fresh Debian 12 machine.
#   scripts/install-deps.sh           to build it and run its main job
#   scripts/install-deps.sh --tests   also what the tests use (Python packages, Chromium, openssl)
# Debian's packages through apt; LibTorch as the torch wheel from PyPI, pinned in
# scripts/requirements*.txt, into the virtual environment .venv/ (ignored by git), where CMake finds
# it by itself. Safe to run again: what is installed already is skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config
  python3 python3-venv                             # the virtual environment that holds LibTorch
  libgloo-dev                                      # Gloo's headers, which the torch wheel leaves out
  nlohmann-json3-dev libyaml-cpp-dev               # JSON layer, YAML configs
  libprotobuf-dev protobuf-compiler                # TensorBoard event files
  zlib1g-dev                                       # gzipped idx files
  libcurl4-openssl-dev                             # the one HTTP client (remote trackers)
  libssl-dev                                       # digests: artifact manifests, request signing
  libsqlite3-dev                                   # trackio's project databases
  dataset-fashion-mnist                            # the main job's data
)
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev       # test and benchmark frameworks
  chromium                                         # renders report.html headless
  clang-format                                     # the style check (.clang-format; Debian 12's is version 14)
  sqlite3                                          # reads trackio databases back
  openssl                                          # a test certificate authority for the HTTPS tests
)
requirements=$root/scripts/requirements.txt

tests=false
case "${1:-}" in
  "") ;;
  --tests) tests=true; packages+=("${test_packages[@]}"); requirements=$root/scripts/requirements-tests.txt ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} Debian packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's interpreter, named in full: a python3 earlier on the PATH (pyenv, conda) may lack venv.
venv=$root/.venv
if [[ ! -x $venv/bin/python ]]; then
  echo "install-deps: creating $venv"
  /usr/bin/python3 -m venv "$venv"
fi
echo "install-deps: installing $(basename "$requirements") into $venv (PyPI)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
