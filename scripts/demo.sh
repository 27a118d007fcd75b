#!/usr/bin/env bash
# The main job: the bank demo and benchmark.
#  1. Build libstm (in build/).
#  2. The bank demo (transfer = withdraw + deposit, composed in one
#     transaction) at 1, 2 and 4 threads, each run followed by the same loop
#     under one global mutex for comparison.
#  3. Where transactions win and where a mutex still wins: stmbench,
#     libstm's default software path against one global mutex on a
#     read-mostly hash set, read-only reports, the blocking queue, the
#     nested-composition bank and the plain bank, at 1 and 2 threads (3
#     alternating runs each); one line per point with the ratio and why.
#     See bench/README.md for the full sweep and the measured figures.
# DEMO_SECONDS sets the length of each bank run (default 2),
# DEMO_BENCH_SECONDS the length of each stmbench run (default 0.5).
# About a minute on a 2-core machine once built.
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
echo "=== where transactions win, and where a mutex still wins"
echo "    stmbench, libstm's default software path (libstm-stm) against one"
echo "    global mutex, ${bsecs} s per run, median of 3 alternating runs; a shared"
echo "    machine makes these indications only (instruction counts, exact on any"
echo "    load: bash bench/callgrind.sh; full figures: bench/README.md)"
[ -x build/bench/stmbench ] || make -C build -s bench/stmbench
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
./build/bench/stmbench -w intset-hash,report,queue,bank-nested,bank -A 4096 -t 1,2 \
  -i libstm-stm,mutex -d "$bsecs" -r 3 --csv >"$tmp"
awk -F, '
  NR == 1 { next }
  { key = $2 " " ($2 ~ /bank/ ? "A=" $3 : $2 == "report" ? "A=" $3 : $2 == "queue" ? "cap=" $7 : "K=" $5 " U=" $6 "%") " " $8 " thr"
    rate[key, $1] = $9; if (!(key in seen)) { seen[key] = 1; order[++n] = key; wl[key] = $2 } }
  END {
    why["intset-hash"] = "read-mostly set: libstm lookups run side by side, mutex lookups take turns"
    why["report"] = "read-only sums: libstm readers write no shared word and never wait for each other"
    why["queue"] = "blocking: libstm waits in stm_retry, the mutex on condition variables"
    why["bank-nested"] = "composition: libstm composes two transactions; the mutex cannot, its row is one critical section"
    why["bank"] = "the mutex case: tiny write-only sections, nothing to overlap"
    for (i = 1; i <= n; i++) {
      k = order[i]; s = rate[k, "libstm-stm"]; m = rate[k, "mutex"]
      if (s == "" || m == "" || m == 0) continue
      r = s / m
      printf "%-34s libstm %7.2fM/s  mutex %7.2fM/s  libstm/mutex %5.2fx  %s\n", k, s / 1e6, m / 1e6, r, (r >= 1 ? "transactions win" : "the mutex wins")
      printf "%34s   (%s)\n", "", why[wl[k]]
    }
  }' "$tmp"
