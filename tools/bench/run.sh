#!/usr/bin/env bash
# The benchmark in one command:
#   tools/bench/run.sh [BUILD_DIR] [run.py options: --only W1,W4  --data DIR  --json FILE ...]
# builds eigennet-bench, gemm-bound and bench-cnn in BUILD_DIR (default: build), then runs
# tools/bench/run.py, which runs everything side by side and prints the table.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build=$(cd "$1" && pwd)
  shift
fi
if [ ! -f "$build/build.ninja" ]; then
  echo "run.sh: no meson build in $build; first: meson setup $build" >&2
  exit 1
fi
targets=(tools/bench/eigennet-bench)
for optional in tools/bench/gemm-bound tools/bench-cnn; do
  if grep -q "^build $optional:" "$build/build.ninja"; then targets+=("$optional"); fi
done
ninja -C "$build" "${targets[@]}" >/dev/null
exec python3 "$repo/tools/bench/run.py" --build-dir "$build" "$@"
