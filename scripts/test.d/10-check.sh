#!/usr/bin/env bash
# The Check suites in a normal optimized build.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build "-O2 -g"
make -C build -s check -j"$(nproc)" || { cat build/test-suite.log 2>/dev/null | tail -n 80; exit 1; }
