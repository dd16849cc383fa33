#!/usr/bin/env bash
# The GPU checks of issue 11, as one command for the GPU machine (see README, "GPU (CUDA)", and
# tools/bench/README.md, "GPU"). In one run, each part continuing past a failure of the one before:
#   1. the CUDA tests (cuda_nodevice_test, cuda_device_test), run as executables directly (the GPU
#      machine has no Eigen, and its meson does not know this build folder's paths);
#   2. the tools on the GPU: gradcheck --device cuda, and cuda_recipes_test (train-mnist
#      --device cuda against --device cpu: notebook-mlp and practical-mlp test accuracies, which
#      needs MNIST in BUILD_DIR/mnist), then the W1 timing (cuda_w1_timing: a quick sanity figure);
#   3. the GPU bench: tools/bench/run.py --device cuda — eigennet-bench --device cuda beside
#      PyTorch on the GPU (eager and CUDA graph) and the cuBLAS GEMM-only bound for W1–W5, the
#      targets as PASS/MISS, then the host-pointer backend's crossover and rows.
# Everything it measures is written under $OUT (the device tool copies it back; at most 8 files):
#   summary.txt  tests.txt  tools.txt  w1-timing.txt  bench.txt  bench.json
#
#   bash tools/cuda/device-check.sh [BUILD_DIR]      (default: build-gpu)
#
# BUILD_DIR was configured and built on the development machine with
#   meson setup build-gpu -Dnative=false -Dcuda=enabled --buildtype=release -Dplots=disabled \
#     -Dblas=disabled -Donednn=disabled -Dmpi=disabled   # the GPU machine has no Boost, OpenBLAS, oneDNN, MPI
#   ninja -C build-gpu tests/cuda_tests/cuda_nodevice_test tests/cuda_tests/cuda_device_test \
#                      tests/cuda_tests/cuda_recipes_test tests/cuda_tests/cuda_w1_timing \
#                      tools/train-mnist tools/gradcheck tools/bench/eigennet-bench \
#                      tools/bench/cuda-gemm-bound tools/bench/cuda-gemm-crossover
#   mkdir -p build-gpu/mnist && cp ../shared/data/mnist/*-ubyte.gz build-gpu/mnist/
# and carried to the GPU machine (device tool: carry build-gpu/tests/cuda_tests, build-gpu/tools,
# build-gpu/mnist). -Dmpi=disabled matters: with MPI found, train-mnist needs Debian's libmpi.so.40,
# which the GPU machine lacks (part 0 below lists such libraries). Without BUILD_DIR/mnist the
# recipe test fails (no dataset there) and the bench uses random inputs of MNIST's shape. Wall
# time on an H200 with 16 cores: budgeted at about 5 minutes, at most 10 (each part has a time
# limit below). Exit status: non-zero when a part failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-gpu}
out=${OUT:-$build/device-check-out}
mkdir -p "$out"
# cudart and cuBLAS of the toolkit there (the binaries were linked against CUDA 13's sonames).
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PYTHONUNBUFFERED=1
dir=$build/tests/cuda_tests
failed=0
started=$(date +%s)
summary=$out/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

note "device-check $(date -u '+%Y-%m-%d %H:%M UTC'), build $build, commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$summary" \
  || note "(no nvidia-smi)"

# 0. Shared libraries the carried programs need and this machine lacks (a program without them
#    exits 127 before its first line).
for exe in "$dir"/cuda_nodevice_test "$dir"/cuda_device_test "$dir"/cuda_recipes_test "$dir"/cuda_w1_timing \
           "$build"/tools/train-mnist "$build"/tools/gradcheck "$build"/tools/bench/eigennet-bench \
           "$build"/tools/bench/cuda-gemm-bound "$build"/tools/bench/cuda-gemm-crossover; do
  if [ ! -x "$exe" ]; then note "MISSING: $exe"; continue; fi
  missing=$(ldd "$exe" 2>&1 | grep 'not found' | awk '{print $1}' | tr '\n' ' ')
  [ -n "$missing" ] && note "MISSING LIBRARIES of $exe: $missing"
done

# 1. The tests (at most 30 s + 150 s).
{
  for exe in cuda_nodevice_test cuda_device_test; do
    if [ ! -x "$dir/$exe" ]; then
      echo "MISSING: $dir/$exe (build it on the development machine, see above)"
      echo "RESULT $exe: MISSING"
      continue
    fi
    limit=30
    [ "$exe" = cuda_device_test ] && limit=150
    echo "=== $exe"
    timeout -k 5 $limit "$dir/$exe" --duration=true 2>&1 | tail -n 300
    status=${PIPESTATUS[0]}
    case $status in
      0) echo "RESULT $exe: PASS" ;;
      77) echo "RESULT $exe: SKIP (no usable device: see the reason above)" ;;
      124) echo "RESULT $exe: FAIL (timed out after $limit s)" ;;
      *) echo "RESULT $exe: FAIL (exit $status)" ;;
    esac
  done
} >"$out/tests.txt" 2>&1
cat "$out/tests.txt"
grep '^RESULT' "$out/tests.txt" >>"$summary"
grep -q '^RESULT .*: PASS' "$out/tests.txt" || failed=1
grep -q '^RESULT .*: \(FAIL\|SKIP\|MISSING\)' "$out/tests.txt" && failed=1

# 2. The tools on the GPU (at most 45 s + 120 s): the device backward, and train-mnist --device
#    cuda against --device cpu on MNIST (BUILD_DIR/mnist).
{
  echo "=== gradcheck --device cuda"
  timeout -k 5 45 "$build/tools/gradcheck" --device cuda 2>&1 | tail -n 100
  status=${PIPESTATUS[0]}
  echo "RESULT gradcheck --device cuda: $([ $status -eq 0 ] && echo PASS || echo "FAIL (exit $status)")"
  echo "=== cuda_recipes_test"
  EIGENNET_TRAIN_MNIST="$build/tools/train-mnist" EIGENNET_MNIST_DIR="$build/mnist" \
    timeout -k 5 120 "$dir/cuda_recipes_test" --success=false 2>&1 | tail -n 100
  status=${PIPESTATUS[0]}
  case $status in
    0) echo "RESULT cuda_recipes_test: PASS" ;;
    77) echo "RESULT cuda_recipes_test: FAIL (skipped: no usable device, see above)" ;;
    124) echo "RESULT cuda_recipes_test: FAIL (timed out after 120 s)" ;;
    *) echo "RESULT cuda_recipes_test: FAIL (exit $status)" ;;
  esac
} >"$out/tools.txt" 2>&1
cat "$out/tools.txt"
grep '^RESULT' "$out/tools.txt" >>"$summary"
grep -q '^RESULT .*: FAIL' "$out/tools.txt" && failed=1

# 3. The W1 timing (at most 45 s).
echo "=== cuda_w1_timing"
timeout -k 5 45 "$dir/cuda_w1_timing" >"$out/w1-timing.txt" 2>&1
status=$?
cat "$out/w1-timing.txt"
case $status in
  0) note "RESULT cuda_w1_timing: PASS" ;;
  77) note "RESULT cuda_w1_timing: SKIP (no usable device)" ;;
  *) note "RESULT cuda_w1_timing: FAIL (exit $status)" ;;
esac
[ $status -eq 0 ] || failed=1

# 4. The GPU bench (run.py starts no run after its time budget, 130 s; hard limit 180 s).
#    Worst case of the whole script: 30 + 150 + 45 + 120 + 45 + 180 s = 570 s, and 5 s more for
#    each part whose program ignores SIGTERM (e.g. stuck in the driver: then KILL): 600 s, the
#    device tool's limit for one command.
echo "=== GPU bench (tools/bench/run.py --device cuda)"
data_args=()
[ -d "$build/mnist" ] && data_args=(--data "$build/mnist")
timeout -k 5 180 python3 "$repo/tools/bench/run.py" --device cuda --build-dir "$build" "${data_args[@]}" \
  --time-budget 130 --timeout 90 --json "$out/bench.json" 2>&1 | tee "$out/bench.txt"
status=${PIPESTATUS[0]}
note "RESULT GPU bench: $([ $status -eq 0 ] && echo 'ran (see bench.txt)' || echo "FAIL (exit $status)")"
[ $status -eq 0 ] || failed=1
sed -n '/^== Targets/,/^$/p' "$out/bench.txt" >>"$summary"

note "total $(( $(date +%s) - started )) s"
if [ $failed -eq 0 ]; then note "device-check: all passed"; else note "device-check: FAILED (see above)"; fi
exit $failed
