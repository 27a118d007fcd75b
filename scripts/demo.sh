#!/usr/bin/env bash
# The main job: build libstm, then run the bank demo (transfer = withdraw +
# deposit, composed in one transaction) at 1, 2 and 4 threads, each run
# followed by the same loop under one global mutex for comparison.
# DEMO_SECONDS sets the length of each run (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build "-O2 -g"
secs=${DEMO_SECONDS:-2}
for t in 1 2 4; do
  ./build/examples/bank -t "$t" -a 1024 -s "$secs"
done
