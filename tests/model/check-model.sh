#!/bin/sh
# Model-check tests/model/hybrid.pml with spin (make check):
#  - the protocol as implemented (eager subscription, sw_active gate): no
#    assertion may fail, the whole state space explored;
#  - lazy subscription (-DLAZY) and no hw_commits gate (-DNO_GATE): spin
#    must find the violation (else the model is too weak to matter).
# And tests/model/wait.pml (blocking retry, precise wake-ups): no lost
# wake-up and no wake-up by an unrelated writer, also when the unrelated
# TVar shares the waiter's bucket (-DCOLLIDE); the writer loading the
# waiter count before its seq CAS (-DLOAD_BEFORE_LOCK) and a wake-up that
# does not bump the waiter's futex word (-DNO_BUMP) must lose a wake-up.
# Exit 77 (skip) only when spin or a C compiler is missing.
command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=gcc
dir=$(cd "${srcdir:-.}/tests/model" 2>/dev/null && pwd)
[ -f "$dir/hybrid.pml" ] || dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
cp "$dir/hybrid.pml" "$dir/wait.pml" .
status=0
pml=hybrid.pml
trail='\[(mem\[|[xy] = mem|ra = t|rb = t|snap = |assert)'
verify() { # name, expectation (pass|fail), spin flags...
  name=$1 expect=$2; shift 2
  spin "$@" -a $pml >spin.out 2>&1 || { cat spin.out; echo "$name: spin -a failed"; status=1; return; }
  "$cc" -O2 -DSAFETY -w -o pan pan.c || { echo "$name: pan did not build"; status=1; return; }
  start=$(date +%s.%N)
  ./pan >pan.out 2>&1
  end=$(date +%s.%N)
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out)
  states=$(sed -n 's/^ *\([0-9][0-9e+.]*\) states, stored.*/\1/p' pan.out)
  secs=$(echo "$start $end" | awk '{printf "%.2f", $2 - $1}')
  echo "$name: errors=$errors states=$states time=${secs}s"
  if grep -q "Search not completed" pan.out && [ "$expect" = pass ]; then
    echo "$name: search not completed"; status=1
  fi
  case "$expect:$errors" in
    pass:0) ;;
    fail:0) echo "$name: spin found NO violation, but one was expected"; status=1 ;;
    fail:*) grep -E "assertion violated|invalid end state" pan.out
            echo "$name: counterexample (spin -t -p), last steps:"
            spin -t -p "$@" $pml 2>&1 | grep -E "$trail" | grep -v 'i = ' | tail -n 25 ;;
    *) cat pan.out; spin -t -p "$@" $pml | tail -n 40; status=1 ;;
  esac
  rm -f $pml.trail
}
verify "hybrid (eager subscription)" pass
verify "lazy subscription" fail -DLAZY
verify "no hw_commits gate" fail -DNO_GATE
pml=wait.pml
trail='\[(X = |w = |v = |FUTEX = |SLEEPING = |found = |need = |NODE_X = |WAITERS)'
verify "wait: precise wake-ups" pass
verify "wait: unrelated TVar in the same bucket" pass -DCOLLIDE
verify "wait: waiter count loaded before the seq CAS" fail -DLOAD_BEFORE_LOCK
verify "wait: wake-up without bumping the futex word" fail -DNO_BUMP
exit $status
