#!/usr/bin/env bash
# The real RTM code under valgrind, forced past the probe: valgrind executes
# xbegin but every transaction aborts (status 0x8, capacity), so the abort
# decoding, the policy and the fallback to NOrec run for real.  Runs every
# Check program (in Check's fork mode: valgrind follows the forked test
# processes, and each test starts from a fresh process state), the forced
# bank (tests/test_htm_force asserts commits_htm == 0 and
# aborts_htm_capacity > 0), the bank example if built, and stm-probe.
# STM_ADAPTIVE=0 so that every transaction tries the hardware first.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v valgrind >/dev/null; then
  echo "valgrind missing: step not run"; exit 1
fi
case "$(uname -m)" in x86_64) ;; *) echo "not x86-64: RTM step does not apply"; exit 0 ;; esac
bash scripts/build.sh build "-O2 -g"
make -C build -s -j2 check TESTS= >/dev/null   # build the test programs only
export STM_HTM_FORCE=1 STM_MODE=htm STM_ADAPTIVE=0 STM_STATS=1
export CK_TIMEOUT_MULTIPLIER=20
vg=(valgrind -q --error-exitcode=99 --trace-children=yes)
failed=0
run() {
  local name=$1; shift
  local log=build/valgrind-htm-$name.log
  local start=$(date +%s) rc=0
  timeout 240 "${vg[@]}" "$@" >"$log" 2>&1 || rc=$?
  echo "--- $name: rc=$rc ($(( $(date +%s) - start )) s)"
  grep -E '^[0-9]+%: Checks:|^histcheck|^  (commits|hardware aborts)|^hardware path|^path |ERROR SUMMARY|Invalid|uninitialised' "$log" | head -n 12 || true
  [ "$rc" -eq 0 ] || { failed=1; tail -n 30 "$log"; }
}
echo "--- stm-probe under valgrind (forced)"
"${vg[@]}" build/tools/stm-probe
# every compiled test program under build/tests (ELF executables: the
# Check suites of every area, whatever their names; not the shell scripts)
for t in $(find build/tests -type f -perm -u+x | sort); do
  [ "$(head -c 4 "$t" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  run "$(basename "$t")" "$t"
done
for ex in build/examples/bank build/examples/bank-*; do
  [ -x "$ex" ] && run "$(basename "$ex")" "$ex"
done
# the assertion itself: every transaction aborted in hardware and committed
# in software (the test exits 1 otherwise; check that it said so)
grep -q '^hardware path ran for real' build/valgrind-htm-test_htm_force.log ||
  { echo "test_htm_force did not see the forced hardware path abort"; failed=1; }
exit $failed
