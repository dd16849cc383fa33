#!/usr/bin/env bash
# The benchmark in one command:
#   tools/bench/run.sh [BUILD_DIR] [run.py options: --only W1,W4  --data DIR  --json FILE ...]
# builds eigennet-bench, gemm-bound, fma-peak and bench-cnn in BUILD_DIR (default: build), then runs
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
# The peers as a competent user runs them: Debian's numpy and PyTorch call the system BLAS
# (libblas.so.3); without OpenBLAS that is the reference BLAS, 5–40× slower, and the table would
# flatter eigennet. libopenblas-dev also gives the GEMM-only bound (gemm-bound).
bash "$repo/tools/install-missing.sh" python3-numpy python3-torch libopenblas-dev
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
blas=$(readlink -f "/usr/lib/$multiarch/libblas.so.3" 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "run.sh: numpy and PyTorch would use ${blas:-no BLAS} (not OpenBLAS): the peers would run slow;" \
          "select it: update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2
     exit 1 ;;
esac
# gemm-bound's openblas-threads bound and eigennet's OpenBLAS kernel need OpenBLAS at configure
# time: reconfigure once after installing it.
if ! grep -q "GEMM_BOUND_HAVE_CBLAS" "$build/build.ninja"; then
  meson setup --reconfigure "$build" >/dev/null
fi

targets=(tools/bench/eigennet-bench)
for optional in tools/bench/gemm-bound tools/bench/fma-peak tools/bench-cnn; do
  if grep -q "^build $optional:" "$build/build.ninja"; then targets+=("$optional"); fi
done
ninja -C "$build" "${targets[@]}" >/dev/null
exec python3 "$repo/tools/bench/run.py" --build-dir "$build" "$@"
