#!/usr/bin/env bash
# The main job: the bank demo and benchmark.
#  1. Build libstm (in build/).
#  2. The bank demo (transfer = withdraw + deposit, composed in one
#     transaction) at 1, 2 and 4 threads, each run followed by the same loop
#     under one global mutex for comparison.
#  3. A short stmbench comparison: bank and intset-hash at 1 and 2 threads,
#     every implementation that applies here (libstm's software and serial
#     paths, libstm-auto/-htm where the CPU has hardware TM, seq, mutex,
#     finelock/rwlock, libitm if built), one run each; prints its table.
#     See bench/README.md for the full sweep and the measured figures.
# DEMO_SECONDS sets the length of each bank run (default 2),
# DEMO_BENCH_SECONDS the length of each stmbench run (default 0.5).
# About 30 s on a 2-core machine once built.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build "-O2 -g"
secs=${DEMO_SECONDS:-2}
bsecs=${DEMO_BENCH_SECONDS:-0.5}

echo "=== bank demo: libstm against one global mutex"
for t in 1 2 4; do
  ./build/examples/bank -t "$t" -a 1024 -s "$secs"
done

echo
echo "=== stmbench: bank and intset-hash, 1 and 2 threads, ${bsecs} s per run, 1 run each"
echo "    (one run per point on a possibly shared machine: indications only;"
echo "     see bench/README.md for the measured figures)"
[ -x build/bench/stmbench ] || make -C build -s bench/stmbench
./build/bench/stmbench -w bank,intset-hash -t 1,2 -d "$bsecs" -r 1
