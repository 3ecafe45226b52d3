#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs a separate project that finds it
# with find_package(trainer CONFIG) and trains a few steps.
set -euo pipefail
src=$1
build=$2
prefix=$(mktemp -d)
downstream_build=$(mktemp -d)
trap 'rm -rf "$prefix" "$downstream_build"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/trainer"
test -f "$prefix/include/trainer/trainer.h"
test -f "$prefix/lib/cmake/trainer/trainerConfig.cmake" || test -f "$prefix"/lib/*/cmake/trainer/trainerConfig.cmake
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/tests/install/downstream" -B "$downstream_build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$downstream_build" -j2 >/dev/null
"$downstream_build/downstream"
