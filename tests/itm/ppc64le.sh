#!/usr/bin/env bash
# libstm-itm on ppc64le: the ELFv2 entry point (src/itm/ppc64le.S) and the
# software paths, cross-compiled and run under qemu-ppc64le -cpu power9.
# The whole library and src/itm are built statically with the cross
# compiler (liburcu replaced by the stand-in of tests/cross/urcu, as in
# tests/cross/ppc64le.sh), linked with -fgnu-tm programs: GCC's libitm C
# testsuite (from the gcc-12-source tarball, as tests/itm/gcc-suite.sh) and
# examples/bank_itm.c.  Every restart and cancel goes through
# stm_itm_longjmp; the hardware path of libstm-itm is RTM only, so here
# every transaction runs NOrec or serially (the GCC tests with STM_MODE=stm,
# or the modes in $ITM_PPC_MODES; the bank with stm and serial).
#   tests/itm/ppc64le.sh [OUT_DIR]     exit: 0 pass, 1 fail, 77 tools missing
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${PPC_CC:-powerpc64le-linux-gnu-gcc}
qemu=${QEMU:-qemu-ppc64le}
for t in "$cc" "$qemu"; do
  command -v "$t" >/dev/null || { echo "$t missing: skipped"; exit 77; }
done
tarball=$(ls /usr/src/gcc-12/gcc-*.tar.* 2>/dev/null | grep -v gm2 | head -n 1)
[ -n "$tarball" ] || { echo "gcc-12-source missing: skipped"; exit 77; }
out=${1:-$top/build-ppc64le-itm}
mkdir -p "$out/gen"
printf '#define PACKAGE_VERSION "cross-ppc64le"\n' >"$out/gen/config.h"
srcs=$(cd "$top" && ls src/core/*.c src/stm/*.c src/fallback/*.c src/htm/*.c src/htm/emu/*.c src/itm/*.c)
flags=(-O2 -g -std=gnu11 -pthread -I"$out/gen" -I"$top/include" -I"$top/tests/cross"
       -DSTM_ITM_VERSION='"cross-ppc64le"')
echo "compiling with $($cc --version | head -n 1)"
( cd "$top" && $cc "${flags[@]}" -c src/itm/ppc64le.S -o "$out/ppc64le.o" &&
  for f in $srcs; do $cc "${flags[@]}" -c "$f" -o "$out/$(echo "$f" | tr / _).o" || exit 1; done ) || exit 1
rm -f "$out/libstm-itm.a"
ar rcs "$out/libstm-itm.a" "$out"/*.o
top_dir=$(tar -tf "$tarball" 2>/dev/null | head -n 1 | cut -d/ -f1)
if [ ! -f "$out/$top_dir/libitm/libitm.h" ]; then
  tar -xf "$tarball" -C "$out" "$top_dir/libitm/libitm.h" "$top_dir/libitm/testsuite/libitm.c"
fi
# -fgnu-tm adds -litm: our archive comes first, so every _ITM_ symbol is ours
link() { $cc -O2 -fgnu-tm -static -pthread -I"$top/include" -I"$out/$top_dir/libitm" "$@" \
         "$out/libstm-itm.a" -lm; }
pass=0 fail=0 xfail=0
run() {  # name exe xfail? modes
  for mode in $4; do
    if STM_MODE=$mode timeout 300 "$qemu" -cpu power9 "$2" >"$out/$1.$mode.log" 2>&1; then
      echo "PASS: $1 ($mode)"; pass=$((pass + 1))
    elif [ "$3" = yes ]; then
      echo "XFAIL: $1 ($mode)"; xfail=$((xfail + 1))
    else
      echo "FAIL: $1 ($mode)"; tail -n 5 "$out/$1.$mode.log"; fail=$((fail + 1))
    fi
  done
}
for t in "$out/$top_dir"/libitm/testsuite/libitm.c/*.c; do
  name=$(basename "$t" .c)
  xf=no; grep -q 'dg-xfail-run-if' "$t" && xf=yes
  link "$t" -o "$out/$name" 2>"$out/$name.build.log" || { echo "FAIL: $name (build)"; tail -n 5 "$out/$name.build.log"; fail=$((fail + 1)); continue; }
  run "$name" "$out/$name" "$xf" "${ITM_PPC_MODES:-stm}"
done
link "$top/examples/bank_itm.c" -o "$out/bank_itm" 2>"$out/bank_itm.build.log" || { echo "FAIL: bank_itm (build)"; fail=$((fail + 1)); }
[ -x "$out/bank_itm" ] && run bank_itm "$out/bank_itm" no "stm serial"
file "$out/bank_itm" | sed 's/, BuildID.*//'
echo "libstm-itm on ppc64le (qemu): $pass passed, $xfail expected failures, $fail failed"
[ "$fail" -eq 0 ]
