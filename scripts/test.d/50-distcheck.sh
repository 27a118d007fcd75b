#!/usr/bin/env bash
# make distcheck: the tarball carries everything needed to build, install
# and pass make check from a read-only source tree (VPATH build).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build "-O2 -g"
make -C build -s distcheck -j"$(nproc)" 2>&1 | tail -n 15
