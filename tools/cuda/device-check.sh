#!/usr/bin/env bash
# The GPU checks of issue 11, as one command for the GPU machine (see README, "GPU (CUDA)").
# Runs the CUDA test executables directly (the GPU machine has no Eigen, and its meson does not
# know this build folder's paths), then the W1 timing and the GEMM crossover sweep.
#
#   bash tools/cuda/device-check.sh [BUILD_DIR]      (default: build-gpu)
#
# BUILD_DIR was configured and built on the development machine with
#   meson setup build-gpu -Dnative=false -Dcuda=enabled --buildtype=release
#   ninja -C build-gpu tests/cuda_tests/cuda_nodevice_test tests/cuda_tests/cuda_device_test \
#                      tests/cuda_tests/cuda_w1_timing
# and carried to the GPU machine. Exit status: non-zero when a test failed or skipped.
set -uo pipefail
build=${1:-build-gpu}
# cudart and cuBLAS of the toolkit there (the binaries were linked against CUDA 13's sonames).
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
dir=$build/tests/cuda_tests
failed=0

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
for exe in cuda_nodevice_test cuda_device_test; do
  if [ ! -x "$dir/$exe" ]; then
    echo "MISSING: $dir/$exe (build it on the development machine, see above)"
    failed=1
    continue
  fi
  echo "=== $exe"
  "$dir/$exe" --duration=true 2>&1 | tail -n 40
  status=${PIPESTATUS[0]}
  case $status in
    0) echo "=== $exe: PASS" ;;
    77) echo "=== $exe: SKIP (no usable device: see the reason above)"; failed=1 ;;
    *) echo "=== $exe: FAIL (exit $status)"; failed=1 ;;
  esac
done

echo "=== timing"
"$dir/cuda_w1_timing" || failed=1
if [ $failed -eq 0 ]; then echo "device-check: all passed"; else echo "device-check: FAILED"; fi
exit $failed
