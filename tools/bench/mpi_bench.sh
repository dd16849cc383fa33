#!/usr/bin/env bash
# The MPI bench (tools/bench/README.md, "Data-parallel over MPI"): train-mnist --mpi's step time
# and the MPI_Allreduce's share of it, at 1 and 2 ranks, on three MLPs:
#   practical  784→64→32→10,     batch 100  (W3's network; 0.2 MB of gradients)
#   W1         784→1000→10,      batch 40   (3.2 MB)
#   W4         784→4096→4096→10, batch 1024 (80 MB)
# all float32, one GEMM thread per rank. The times are rank 0's, test passes excluded; the
# allreduce's share includes waiting for the slower rank.
#   tools/bench/mpi_bench.sh [build-dir]      (default build; needs -Dmpi and openmpi-bin)
set -euo pipefail
build=${1:-build}
tool="$build/tools/train-mnist"
[ -x "$tool" ] || { echo "mpi_bench: no $tool (build first)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # containers run as root
runs=(
  "practical|--recipe practical-mlp --iters 600 --batch-rule shuffle"
  "W1|--recipe practical-mlp --hidden 1000 --batch 40 --lr 0.01 --iters 1000"
  "W4|--recipe practical-mlp --hidden 4096,4096 --batch 1024 --lr 0.01 --iters 12"
)
printf '%-10s %5s  %12s  %16s  %8s  %9s\n' network ranks "ms/step" "allreduce ms" share MB
for run in "${runs[@]}"; do
  name=${run%%|*}
  flags=${run#*|}
  for ranks in 1 2; do
    # shellcheck disable=SC2086
    line=$(timeout 600 mpirun --oversubscribe -np "$ranks" "$tool" --mpi $flags --test-every 0 | grep -o 'mpi: .*')
    # "mpi: 2 ranks, 1.598 ms/step (...), allreduce 1.268 ms/step (79.4%) of 0.21 MB"
    step=$(sed -E 's/.*ranks, ([0-9.]+) ms\/step.*/\1/' <<<"$line")
    reduce=$(sed -E 's/.*allreduce ([0-9.]+) ms\/step.*/\1/' <<<"$line")
    share=$(sed -E 's/.*\(([0-9.]+%)\) of.*/\1/' <<<"$line")
    mb=$(sed -E 's/.* of ([0-9.]+) MB.*/\1/' <<<"$line")
    printf '%-10s %5s  %12s  %16s  %8s  %9s\n' "$name" "$ranks" "$step" "$reduce" "$share" "$mb"
  done
done
