#!/usr/bin/env bash
# Instructions per operation, measured as a new user's program sees them:
# libstm installed into a scratch prefix and linked through pkg-config (the
# shared library), beside the same program on GCC's libitm and on one
# pthread mutex.  Each figure is the difference between callgrind runs of
# N2 and N1 operations divided by N2 - N1, so start-up costs cancel; the
# program's own loop (random account choice, call, sum) is included.
# callgrind counts are exact, whatever the load.  libstm runs the software
# path (STM_MODE=stm, as on every CPU without TSX; valgrind aborts every
# hardware transaction anyway).
#
#   bench/callgrind.sh [build-dir]     (default: build)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
cd "$top/$build"
command -v valgrind >/dev/null || { echo "valgrind missing"; exit 1; }
make -s >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install DESTDIR="$tmp/root" >/dev/null
prefix=$(sed -n 's/^prefix=//p' libstm.pc)
root=$tmp/root$prefix
pc="pkg-config --define-variable=prefix=$root"
export PKG_CONFIG_PATH=$root/lib/pkgconfig
src=$top/bench/cg/transfer.c
cc=${CC:-cc}
$cc -O2 -DPROBE_STM -o "$tmp/stm" "$src" $($pc --cflags --libs libstm) -Wl,-rpath,"$root/lib"
$cc -O2 -DPROBE_MUTEX -o "$tmp/mutex" "$src" -lpthread
have_itm=0
if $cc -O2 -fgnu-tm -DPROBE_ITM -o "$tmp/itm" "$src" -litm 2>/dev/null; then have_itm=1; fi
ir() { # program workload n
  STM_MODE=stm valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 |
    awk '/Collected/ { print $4 }'
}
per() { # program workload n1 n2 divisor
  local a b
  a=$(ir "$1" "$2" "$3"); b=$(ir "$1" "$2" "$4")
  echo "scale=2; ($b - $a) / (($4 - $3) * $5)" | bc
}
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
fam=$(grep -m1 'cpu family' /proc/cpuinfo | awk '{print $NF}')
mod=$(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | awk '{print $NF}')
echo "# callgrind, 1 thread, A=4096; CPU: $cpu (family $fam, model $mod); $(date -u +%F)"
echo "# libstm $(sed -n 's/^Version: //p' libstm.pc) installed and linked via pkg-config, STM_MODE=stm"
printf '%-8s %28s %28s\n' impl "instructions per transfer" "instructions per report read"
for p in stm itm mutex; do
  [ "$p" = itm ] && [ $have_itm = 0 ] && continue
  t=$(per "$tmp/$p" transfer 20000 120000 1)
  r=$(per "$tmp/$p" report 10 60 4096)
  printf '%-8s %28s %28s\n' "$p" "$t" "$r"
done
