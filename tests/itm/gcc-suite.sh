#!/usr/bin/env bash
# GCC's own libitm C testsuite (libitm/testsuite/libitm.c in the
# gcc-12-source package), built with -fgnu-tm outside DejaGnu and run
# against libstm-itm.  The sources are read from the installed tarball at
# run time, never copied into this repository.
#   tests/itm/gcc-suite.sh BUILD_DIR [WORK_DIR]
# Each test runs with STM_MODE=auto, stm and serial (or the modes in
# $ITM_SUITE_MODES); $ITM_SUITE_LDFLAGS is added to the link (a sanitizer
# runtime when the library is a sanitized build).  The dg- directives
# the tests carry are honoured: dg-options (added to the flags),
# dg-set-target-env-var (set), dg-xfail-run-if (an expected failure; a
# pass there is reported as XPASS, which is fine: libitm itself lacks
# _ITM_dropReferences, libstm-itm has it).
set -uo pipefail
build=$(cd "${1:?build dir}" && pwd)
work=${2:-$build/gcc-libitm-suite}
tarball=$(ls /usr/src/gcc-12/gcc-*.tar.* 2>/dev/null | grep -v gm2 | head -n 1)
if [ -z "$tarball" ]; then
  echo "gcc-12-source is not installed (apt-get install gcc-12-source)"; exit 77
fi
mkdir -p "$work"
top=$(tar -tf "$tarball" 2>/dev/null | head -n 1 | cut -d/ -f1)
if [ ! -f "$work/$top/libitm/libitm.h" ]; then
  tar -xf "$tarball" -C "$work" "$top/libitm/libitm.h" "$top/libitm/testsuite/libitm.c"
fi
src=$work/$top/libitm/testsuite/libitm.c
inc=$work/$top/libitm
lib=$build/.libs
pass=0 fail=0 xfail=0 xpass=0
for t in "$src"/*.c; do
  name=$(basename "$t" .c)
  opts=$(sed -n 's/.*{ dg-options "\([^"]*\)" }.*/\1/p' "$t")
  envs=$(sed -n 's/.*{ dg-set-target-env-var \([A-Z_]*\) "\([^"]*\)" }.*/\1=\2/p' "$t")
  xf=no; grep -q 'dg-xfail-run-if' "$t" && xf=yes
  exe=$work/$name
  if ! { gcc -O2 -fgnu-tm $opts -I"$inc" -c "$t" -o "$exe.o" &&
         gcc $opts "$exe.o" -o "$exe" ${ITM_SUITE_LDFLAGS:-} -L"$lib" -Wl,--as-needed -lstm-itm \
             -Wl,-rpath,"$lib"; } 2>"$work/$name.build.log"; then
    echo "FAIL: $name (build)"; cat "$work/$name.build.log"; fail=$((fail + 1)); continue
  fi
  # the binary must bind libstm-itm, not libitm
  if readelf -d "$exe" | grep -q 'libitm\.so'; then
    echo "FAIL: $name links libitm"; fail=$((fail + 1)); continue
  fi
  for mode in ${ITM_SUITE_MODES:-auto stm serial}; do
    if env $envs STM_MODE=$mode timeout 120 "$exe" >"$work/$name.$mode.log" 2>&1; then
      if [ $xf = yes ]; then echo "XPASS: $name ($mode)"; xpass=$((xpass + 1))
      else echo "PASS: $name ($mode)"; pass=$((pass + 1)); fi
    else
      rc=$?
      if [ $xf = yes ]; then echo "XFAIL: $name ($mode, rc=$rc)"; xfail=$((xfail + 1))
      else echo "FAIL: $name ($mode, rc=$rc)"; tail -n 5 "$work/$name.$mode.log"; fail=$((fail + 1)); fi
    fi
  done
done
echo "libitm C testsuite on libstm-itm: $pass passed, $xpass passed where libitm expects failure, $xfail expected failures, $fail failed"
[ "$fail" -eq 0 ]
