#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine it installs what is missing (Debian
# packages only), configures and builds eigennet, then trains the default recipe:
#   - on MNIST if it finds it (--data DIR, $EIGENNET_MNIST_DIR, data/mnist, /usr/share/datasets/mnist,
#     ~/.cache/mnist), otherwise on Fashion-MNIST from Debian's dataset-fashion-mnist package;
#   - it prints where the model (.npz) and the training log (.csv) went.
# Extra arguments go to train-mnist, e.g.  tools/quickstart.sh --recipe notebook-mlp --data ~/mnist
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ meson ninja-build pkg-config cmake            # toolchain
  libeigen3-dev zlib1g-dev libcli11-dev             # library and tools
  libopenblas-dev libdnnl-dev                       # GEMM kernels beside Eigen's (OpenBLAS, oneDNN)
  libopenmpi-dev openmpi-bin                        # data-parallel training over MPI ranks (train-mnist --mpi)
  doctest-dev python3-numpy python3-torch           # tests (numpy and PyTorch check our files and numbers)
  libgnuplot-iostream-dev gnuplot-nox libboost-iostreams-dev libboost-filesystem-dev  # plots
  dataset-fashion-mnist                             # the offline default dataset
)
# gnuplot-nox in the same command as libgnuplot-iostream-dev, or apt picks gnuplot-qt and Qt.
bash tools/install-missing.sh "${packages[@]}"

echo "==> building (build/)"
[ -f build/build.ninja ] || meson setup build --buildtype=release
meson compile -C build

echo "==> training"
mkdir -p build/runs
exec build/tools/train-mnist --recipe practical-mlp \
  --save build/runs/model.npz --log build/runs/training-log.csv "$@"
