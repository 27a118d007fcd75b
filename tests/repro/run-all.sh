#!/usr/bin/env bash
# Run every issue-9 reproducer built by build.sh, on the default path and
# with STM_MODE=stm, printing each command and what it printed.
# usage: tests/repro/run-all.sh BINDIR LIBSTM_SO
bin=$1 so=$2
here=$(cd "$(dirname "$0")" && pwd)
run() {
  echo "\$ $*"
  timeout 150 "$@" 2>&1 | tail -n 8
  echo "[exit ${PIPESTATUS[0]}]"
}
for mode in default stm; do
  if [ "$mode" = stm ]; then export STM_MODE=stm; else unset STM_MODE; fi
  echo "######## STM_MODE=${STM_MODE:-(unset: auto)}"
  run "$bin/fork_child" 40
  run "$bin/fork_rss" 2000000
  for n in 1048576 4194304; do
    for w in 1 3; do
      run "$bin/long_tx" ro $n $w 30
      run "$bin/long_tx" rw $n $w 30
    done
  done
  run "$bin/dlopen_load" "$so"
  run python3 "$here/ctypes_load.py" "$so"
  run "$bin/longjmp_out" join
  run "$bin/longjmp_out" irrevocable
  run "$bin/signal_tx" body
  run "$bin/signal_tx" store
  run "$bin/bad_free" mmap
  run "$bin/bad_free" tvar-alloc
done
