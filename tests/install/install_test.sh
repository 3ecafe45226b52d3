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
# Only public headers are installed, and they need nothing else: every header one of them includes
# from this project is installed too (internal ones, src/**/*.h, never are).
missing=0
while IFS= read -r line; do
  header=${line#*:}
  if [ ! -f "$prefix/include/$header" ]; then echo "install: ${line%%:*} includes $header, which is not installed" >&2; missing=1; fi
done < <(cd "$prefix/include" && grep -rhoE '^#include ["<](trainer/[^">]+)' --include='*.h' -H . | sed -E 's/^\.\/([^:]+):#include ["<]/\1:/')
if grep -rnE '^#include "' --include='*.h' "$prefix/include/trainer" | grep -v '#include "trainer/'; then
  echo "install: the installed headers above include a project header by a path outside trainer/" >&2; missing=1
fi
test $missing -eq 0
if find "$prefix/include" -path '*integrations/*' \( -name '*_endpoint.h' -o -name 'blob_store.h' \) | grep -q .; then
  echo "install: internal headers were installed" >&2; exit 1
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/tests/install/downstream" -B "$downstream_build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build "$downstream_build" -j2 >/dev/null
"$downstream_build/downstream"
