#!/usr/bin/env bash
# histcheck on every path this build can take here: software (STM_MODE=stm
# and NOrec alone), serial, the emulated hardware back end with 20%
# injected aborts, and whatever the probe picks (rtm on a CPU with working RTM, else NOrec).
# Each run prints its closing "histcheck: path=..." line.  The seed varies
# per run (a correct library passes any); it is printed for a re-run.
set -u
bin=${HISTCHECK:-tests/history/histcheck}
seed=${HISTCHECK_SEED:-$RANDOM}
args=(-t 4 -n 600 --round 150 -k 8 --seed "$seed" -q)
status=0
# a hang (a lost wake-up, a deadlock) fails the run instead of the whole CI
run() {
  echo "\$ $*"
  timeout 600 "$@" || { echo "FAILED (exit $?, 124 = timed out; seed $seed)"; status=1; }
}
run env STM_MODE=stm "$bin" "${args[@]}"
# NOrec alone (always logged); a library without that value warns once and
# takes the default path
run env STM_MODE=norec "$bin" "${args[@]}"
run env STM_MODE=serial "$bin" "${args[@]}"
run env -u STM_MODE "$bin" "${args[@]}" --emu 20
run env -u STM_MODE "$bin" "${args[@]}"
exit $status
