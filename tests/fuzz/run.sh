#!/bin/sh
# Builds the fuzz harnesses with clang 14's libFuzzer, ASan and UBSan into build-fuzz/ and
# fuzzes each in turn, starting from its seed corpus (tests/fuzz/corpus/<harness>/).
#
#   tests/fuzz/run.sh -max_total_time=600 [harness...]   # each for 10 minutes
#   tests/fuzz/run.sh -runs=10000000 npz                 # 10 million executions of one
#
# The first argument is passed to libFuzzer; harnesses: idx idx_gzip npz npy (default: all).
# New inputs collect in build-fuzz/corpus/<harness>/, crashes in build-fuzz/crashes/<harness>/.
# Any allocation over 64 MB counts as a crash: no input this small needs one, so a size taken
# from the file without checking shows up. Needs: apt-get install clang-14 libfuzzer-14-dev.
set -eu
limit=${1:--max_total_time=60}
[ $# -gt 0 ] && shift
harnesses=${*:-idx idx_gzip npz npy}

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build-fuzz
mkdir -p "$out/obj"
flags="-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -I$root/include -I$root/src -isystem /usr/include/eigen3"
cd "$out/obj"
for src in idx limits npz zip atomic_file; do
  [ "$root/src/data/$src.cpp" -ot "$src.o" ] || clang++-14 $flags -fsanitize=fuzzer-no-link -c "$root/src/data/$src.cpp" -o "$src.o"
done
for h in $harnesses; do
  clang++-14 $flags -fsanitize=fuzzer "$root/tests/fuzz/fuzz_$h.cpp" idx.o limits.o npz.o zip.o atomic_file.o \
    -lz -o "$out/fuzz_$h"
done

for h in $harnesses; do
  mkdir -p "$out/corpus/$h" "$out/crashes/$h"
  echo "== fuzz_$h $limit"
  "$out/fuzz_$h" "$limit" -malloc_limit_mb=64 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/$h/" "$out/corpus/$h" "$root/tests/fuzz/corpus/$h"
done
