#!/usr/bin/env bash
# Every tracked C++ file in the style of .clang-format. Usage: format_test.sh CLANG_FORMAT SOURCE_DIR.
# A file that is not prints its diff; `clang-format -i FILE` fixes it.
set -u
clang_format=$1
cd "$2" || exit 2
bad=0
while IFS= read -r f; do
  if ! "$clang_format" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (clang-format -i $f)"
    "$clang_format" --style=file "$f" | diff "$f" - | head -20
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.cpp' '*.h')
echo "$bad files not formatted"
test $bad -eq 0
