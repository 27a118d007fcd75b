#!/usr/bin/env bash
# The Check suites in a normal optimized build: once on the path this
# machine picks (hardware where RTM works), once on the software path every
# CPU without TSX runs (STM_MODE=stm), so both are tested wherever CI runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build "-O2 -g"
make -C build -s check -j"$(nproc)" || { cat build/test-suite.log 2>/dev/null | tail -n 80; exit 1; }
STM_MODE=stm make -C build -s check -j"$(nproc)" || { cat build/test-suite.log 2>/dev/null | tail -n 80; exit 1; }
