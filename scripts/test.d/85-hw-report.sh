#!/usr/bin/env bash
# The hardware field kit (scripts/hw-report.sh) in its --quick form, twice:
# as this machine is (hardware TM or not), and with the hardware hidden
# (--no-htm, the report of a CPU without TSX).  Checks that each run wrote
# every file, that its first line says what stm-probe decided, that a
# machine with hardware TM shows hardware commits and one without shows its
# hardware benchmark rows as not available.  Speed is never checked.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build "-O2 -g"
path=$(build/tools/stm-probe | sed -n 's/^Path: \([^ ]*\).*/\1/p')
fail=0
check_report() { # folder hardware(0|1)
  local d=$1 hw=$2 f
  for f in report.md machine.txt probe.txt correctness.csv sites.csv bench.csv logs/build.txt; do
    [ -s "$d/$f" ] || { echo "missing or empty: $d/$f"; fail=1; }
  done
  if command -v gnuplot > /dev/null; then
    [ -s "$d/bench.png" ] || { echo "missing: $d/bench.png"; fail=1; }
  fi
  tar -tzf "$d.tar.gz" > "$d.list" || fail=1
  grep -q "^$(basename "$d")/report.md$" "$d.list" || { echo "archive lacks report.md: $d.tar.gz"; fail=1; }
  local first
  first=$(sed -n '3p' "$d/report.md")
  echo "$d: $first"
  for st in 1 2 3 4; do
    grep -q "^- stage $st ([a-z ]*): ran, " "$d/report.md" || { echo "stage $st did not run cleanly in $d"; fail=1; }
  done
  if [ "$hw" = 1 ]; then
    case $first in "**Hardware TM: yes"*) ;; *) echo "first line should say hardware TM"; fail=1 ;; esac
    awk -F, 'NR > 1 && $3 > 0 { n++ } END { exit !(n > 0) }' "$d/correctness.csv" || { echo "no hardware commits recorded"; fail=1; }
    grep -q '^libstm-htm,' "$d/bench.csv" || { echo "no libstm-htm benchmark rows"; fail=1; }
  else
    case $first in "**No hardware TM"*) ;; *) echo "first line should say no hardware TM"; fail=1 ;; esac
    grep -q 'libstm-htm | n/a (no hardware TM)' "$d/report.md" || { echo "hardware rows not marked n/a"; fail=1; }
  fi
  grep -q ',FAIL,' "$d/correctness.csv" && { echo "a correctness check failed:"; grep ',FAIL,' "$d/correctness.csv"; fail=1; }
  return 0
}
case $path in rtm|power-htm) hw=1 ;; *) hw=0 ;; esac
rm -rf build/hw-report-ci build/hw-report-ci-nohtm
bash scripts/hw-report.sh --quick --bench-seconds 15 --out build/hw-report-ci > build/hw-report-ci.out 2>&1 ||
  { echo "hw-report --quick failed"; tail -n 40 build/hw-report-ci.out; fail=1; }
check_report build/hw-report-ci "$hw"
bash scripts/hw-report.sh --quick --no-htm --bench-seconds 8 --out build/hw-report-ci-nohtm > build/hw-report-ci-nohtm.out 2>&1 ||
  { echo "hw-report --quick --no-htm failed"; tail -n 40 build/hw-report-ci-nohtm.out; fail=1; }
check_report build/hw-report-ci-nohtm 0
sed -n '1,/^Total time/p' build/hw-report-ci/report.md
exit $fail
