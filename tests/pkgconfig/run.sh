#!/usr/bin/env bash
# Installs eigennet into a scratch DESTDIR, then builds tests/pkgconfig/consumer.cpp as an outside
# program would — with nothing but `pkg-config --cflags --libs eigennet` — and runs it.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

meson install -C "$build_dir" --destdir "$scratch/root" --no-rebuild --quiet >/dev/null
pc_file=$(find "$scratch/root" -name eigennet.pc | head -n 1)
if [ -z "$pc_file" ]; then
  echo "FAIL: meson install wrote no eigennet.pc"
  exit 1
fi
# Point the installed file's prefix at the scratch copy; eigen3.pc and zlib.pc stay the system's.
prefix=$(sed -n 's/^prefix=//p' "$pc_file")
mkdir "$scratch/pc"
sed "s|^prefix=.*|prefix=$scratch/root$prefix|" "$pc_file" >"$scratch/pc/eigennet.pc"
export PKG_CONFIG_PATH="$scratch/pc"
flags=$(pkg-config --cflags --libs eigennet)
echo "pkg-config --cflags --libs eigennet: $flags"
# EIGENNET_CONSUMER_FLAGS: -fsanitize=... when the library was built with sanitizers.
c++ -std=c++17 -O2 "$source_dir/consumer.cpp" $flags ${EIGENNET_CONSUMER_FLAGS:-} -o "$scratch/consumer"
"$scratch/consumer"
