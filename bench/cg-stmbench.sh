#!/usr/bin/env bash
# Instructions per stmbench operation, 1 thread, for every workload:
# callgrind's count of the `worker` function (the whole loop: RNG, the
# operation, the transaction) divided by the operations run.  stmbench
# measures in a forked child and the build tree's binary is a libtool
# wrapper, so this runs the real binary with the build's libraries and
# reads the child's output file.  Prints CSV: label,workload,impl,instr.
#
#   bench/cg-stmbench.sh [build-dir] [label] [impls]
#   (defaults: build, the build's version, "seq mutex libitm libstm-norec
#   libstm-stm libstm-serial")
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=$(cd "${1:-$top/build}" && pwd)
label=${2:-$(sed -n 's/^Version: //p' "$b/libstm.pc")}
impls=${3:-seq mutex libitm libstm-norec libstm-stm libstm-serial}
command -v valgrind >/dev/null || { echo "valgrind missing"; exit 1; }
export LD_LIBRARY_PATH=$b/.libs:$b/bench/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
sb=$b/bench/.libs/stmbench
[ -x "$sb" ] || sb=$b/bench/stmbench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for w in ${CG_WORKLOADS:-bank bank-nested report intset-hash intset-skip intset-list queue}; do
  n=200000 extra="-A 4096"
  [ "$w" = report ] && n=200
  [ "$w" = intset-list ] && { n=20000 extra="-K 256"; }
  for i in $impls; do
    rm -f "$tmp"/cg.*
    env -u STM_MODE valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" \
      --toggle-collect=worker "$sb" -t 1 -r 1 $extra -n $n -w "$w" -i "$i" >/dev/null 2>&1 || continue
    ir=$(for f in "$tmp"/cg.*; do
           callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
         done | sort -n | tail -n 1)
    [ -n "$ir" ] && [ "$ir" != 0 ] && echo "$label,$w,$i,$(echo "scale=1; $ir / $n" | bc)"
  done
done
