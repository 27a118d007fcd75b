#!/usr/bin/env bash
# Configure and build libstm in build directory $1 (default: build) with
# extra CFLAGS from $2.  Reuses an existing configuration.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
cflags=${2:--O2 -g}
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$top/$dir"
cd "$top/$dir"
[ -f Makefile ] || "$top/configure" -q CFLAGS="$cflags" ${STM_CONFIGURE_FLAGS:-}
make -s -j"$(nproc)"
