#!/usr/bin/env bash
# The software path's top-level fast entry (x86-64: an assembly restart
# point, src/stm/atomically.c) under valgrind's memcheck: STM_MODE=stm, as
# on every CPU without TSX, so that the entry, its abort resume (retry,
# orElse, validation failures) and the inline paths run under memcheck.
# Runs after 60-valgrind-htm, which built build/ with -O2 -g.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v valgrind >/dev/null; then
  echo "valgrind missing: step not run"; exit 1
fi
[ -x build/tests/test_inline ] || { bash scripts/build.sh build "-O2 -g"; make -C build -s -j2 check TESTS= >/dev/null; }
export STM_MODE=stm CK_TIMEOUT_MULTIPLIER=20
vg=(valgrind -q --error-exitcode=99 --trace-children=yes)
failed=0
for t in test_inline test_api test_retry test_ds test_stats; do
  log=build/valgrind-stm-$t.log
  start=$(date +%s) rc=0
  timeout 240 "${vg[@]}" "build/tests/$t" >"$log" 2>&1 || rc=$?
  echo "--- $t: rc=$rc ($(( $(date +%s) - start )) s)"
  grep -E '^[0-9]+%: Checks:|ERROR SUMMARY|Invalid|uninitialised' "$log" | head -n 6 || true
  [ "$rc" -eq 0 ] || { failed=1; tail -n 30 "$log"; }
done
if [ -x build/examples/bank ]; then
  rc=0
  timeout 240 "${vg[@]}" build/examples/bank >build/valgrind-stm-bank.log 2>&1 || rc=$?
  echo "--- bank: rc=$rc"
  [ "$rc" -eq 0 ] || { failed=1; tail -n 30 build/valgrind-stm-bank.log; }
fi
exit $failed
