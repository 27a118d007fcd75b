#!/usr/bin/env bash
# Build the issue-9 reproducers against an installed libstm.
# usage: tests/repro/build.sh PREFIX OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=$1 out=$2
mkdir -p "$out"
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  libs=(-L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lstm -lpthread)
  # the dlopen reproducer must not have libstm loaded at start-up
  [ "$name" = dlopen_load ] && libs=(-ldl -lpthread)
  cc -O2 -g -Wall -I"$prefix/include" -o "$out/$name" "$src" "${libs[@]}"
done
