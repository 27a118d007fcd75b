#!/usr/bin/env bash
# hw-report.sh: the hardware field kit.  One command that records the
# machine, proves the hardware TM path correct on it, profiles its aborts per
# transaction site and benchmarks it against locks and libitm, and writes one
# folder (plus a .tar.gz) to read and send back.  See doc/hardware.md.
#
#   scripts/hw-report.sh [--quick] [--no-htm] [--out DIR] [--build DIR]
#                        [--stages LIST] [--bench-seconds N] [--lock FILE]
#
#   --quick          about a minute: fewer checks, threads 1 and nproc, three
#                    workloads (default: every stage in full, 3-4 minutes)
#   --no-htm         hide the hardware TM (STM_MODE=stm everywhere): the
#                    report is the one a CPU without TSX or POWER HTM gets
#   --out DIR        the report folder (default hw-report-HOST-UTCTIME); the
#                    archive is DIR.tar.gz
#   --build DIR      the build directory (default build; configured and
#                    built here if it has no Makefile)
#   --stages LIST    which stages to run, e.g. 1,2 (default 1,2,3,4; the
#                    report and the archive are always written)
#   --bench-seconds N  the time budget of the benchmark sweep (default 130,
#                    --quick 25)
#   --lock FILE      run the benchmark sweep under flock FILE (shared
#                    machines: no two benchmarks at once)
#
# Stages (each under its own timeout; the report says which ran):
#   1 machine: CPU vendor/family/model/stepping, model name, microcode,
#     kernel and its TSX command-line options, CPUID/HWCAP2 bits, nproc,
#     load, tool versions, stm-probe's full output.
#   2 correctness: with hardware, the Check suites, the bank example
#     (invariant and consistent reports) and the history checker (when
#     built) with STM_MODE=htm STM_ADAPTIVE=0, asserting that hardware
#     commits happened (> 0; >= 90% for single-threaded small transactions).
#     Without, the suites in software, the emulation back end and the real
#     RTM code forced under valgrind (every xbegin aborts there).
#   3 abort profile: STM_STATS=2 runs of the examples: per transaction site
#     commits per path, aborts per cause, busy waits, adaptive skips.
#   4 benchmarks: stmbench at 1, 2, 4 ... nproc threads, libstm's hardware,
#     auto, software and serial paths against mutex, rwlock/finelock and
#     libitm (also ITM_DEFAULT_METHOD=htm where the CPU has RTM).
#   5 report.md (verdicts first), CSV files, PNG charts (gnuplot), raw logs
#     under logs/, and the archive.
#
# Exit status: 0 when every stage that ran passed, 1 when a check failed or
# a stage timed out, 2 on bad usage.  The raw outputs in logs/ end in .txt
# (scripts/run-tests.sh reads Check results from build*/**/*.log).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/scripts/hw-report.sh"

# ---- options ----------------------------------------------------------------
quick=0 nohtm=0 out="" build="" stages=1,2,3,4 bench_seconds="" lock=""
usage() { sed -n '6,21p' "$self" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --no-htm) nohtm=1 ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --build) build=${2:?--build needs a folder}; shift ;;
    --stages) stages=${2:?--stages needs a list}; shift ;;
    --bench-seconds) bench_seconds=${2:?--bench-seconds needs a number}; shift ;;
    --lock) lock=${2:?--lock needs a file}; shift ;;
    --run-stage) break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "hw-report: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# ---- helpers shared by the stages ------------------------------------------

# Sum the "libstm stats (path P)" blocks of a log (STM_STATS=1 or 2 output,
# one block per process) into: hw sw serial conflict capacity explicit other
# busy skips sw_aborts blocks, counting only blocks whose path is real
# hardware (rtm, power-htm) for hw_only=1.
sum_stats() { # log hw_only
  awk -v hwonly="$2" '
    /^libstm stats \(path / { p = $4; sub(/\)$/, "", p); on = !hwonly || p == "rtm" || p == "power-htm"; if (on) n++; next }
    on && /^  commits / { gsub(/[(),]/, " "); hw += $4; sw += $6; se += $8; next }
    on && /^  hardware aborts / { gsub(/[(),]/, " "); c += $5; ca += $7; e += $9; o += $11; next }
    on && /^  hardware busy waits / { gsub(/,/, " "); b += $4; k += $7; next }
    on && /^  software aborts / { sa += $3; next }
    END { printf "%d %d %d %d %d %d %d %d %d %d %d\n", hw, sw, se, c, ca, e, o, b, k, sa, n }' "$1"
}

# The per-site blocks of a log (STM_STATS=2) as CSV rows: label, site name
# (resolved with addr2line where dladdr had no symbol), commits, hw, sw,
# serial, conflict, capacity, explicit, other, busy, skips, sw_aborts, blocked.
sites_csv() { # log label
  awk '
    /^  site / { sub(/^  site /, ""); site = $0; next }
    /^    commits / { gsub(/[(),]/, " "); c = $2; hw = $4; sw = $6; se = $8; next }
    /^    hardware aborts / { gsub(/[(),]/, " "); cf = $4; ca = $6; ex = $8; ot = $10; bu = $13; sk = $16; next }
    /^    software aborts / { gsub(/,/, " "); print site "\t" c "," hw "," sw "," se "," cf "," ca "," ex "," ot "," bu "," sk "," $3 "," $7 }
  ' "$1" | while IFS=$'\t' read -r site rest; do
    name=$site
    case $site in
      "("*"+0x"*")")  # no symbol: ask addr2line about file+offset
        fo=${site#(}; fo=${fo%)}
        fn=$(addr2line -f -e "${fo%+0x*}" "0x${fo##*+0x}" 2>/dev/null | head -n 1)
        [ -n "$fn" ] && [ "$fn" != "??" ] && name="$fn $site" ;;
    esac
    # short: the object's base name (libtool's .libs/ directory dropped)
    name=$(echo "$name" | sed 's|(/[^ ]*/|(|; s|,|;|g')
    echo "$2,$name,$rest"
  done
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else printf "n/a" }'; }

# One line of stage 2/3 results: check,result,hw_commits,all_commits,detail
record() { local n=$1 d=$5; echo "${n//,/;},$2,$3,$4,${d//,/;}" >> "$out/correctness.csv"; }

# ---- the stages (each runs as its own process under a timeout) -------------

stage1() {
  local m="$out/machine.txt"
  : > "$m"
  kv() { printf '%-22s %s\n' "$1" "$2" >> "$m"; }
  local ci=/proc/cpuinfo
  field() { awk -F': *' -v k="$1" '$1 ~ "^"k"[ \t]*$" { print $2; exit }' "$ci" 2>/dev/null; }
  cp "$ci" "$out/logs/cpuinfo.txt" 2>/dev/null
  kv "date (UTC)" "$(date -u '+%Y-%m-%d %H:%M:%S')"
  kv "host" "$(hostname 2>/dev/null || echo '?')"
  kv "architecture" "$(uname -m)"
  case $(uname -m) in
    x86_64|i?86)
      kv "vendor" "$(field vendor_id)"
      local fam mod
      fam=$(field 'cpu family'); mod=$(field model)
      kv "family/model/stepping" "$(printf '%d (0x%x) / %d (0x%x) / %s' "$fam" "$fam" "$mod" "$mod" "$(field stepping)")"
      kv "model name" "$(field 'model name')"
      kv "microcode" "$(field microcode)"
      local flags f fl=""
      flags=" $(field flags) "
      for f in rtm hle rtm_always_abort tsx_force_abort hypervisor; do
        case $flags in *" $f "*) fl="$fl $f=yes" ;; *) fl="$fl $f=no" ;; esac
      done
      kv "cpuinfo flags" "${fl# }"
      ;;
    ppc64*)
      kv "cpu" "$(field cpu)"
      kv "revision" "$(field revision)"
      kv "platform" "$(field platform)"
      kv "AT_HWCAP2" "$(LD_SHOW_AUXV=1 /bin/true 2>/dev/null | awk '/AT_HWCAP2/ { $1 = ""; print }')"
      ;;
  esac
  kv "kernel" "$(uname -srv)"
  local cmd tsx
  cmd=$(cat /proc/cmdline 2>/dev/null)
  tsx=$(echo "$cmd" | tr ' ' '\n' | grep -E '^(tsx|tsx_async_abort|mitigations)=' | tr '\n' ' ')
  kv "kernel TSX options" "${tsx:-none on the command line}"
  echo "$cmd" > "$out/logs/cmdline.txt"
  local v
  for v in tsx_async_abort taa; do
    [ -r /sys/devices/system/cpu/vulnerabilities/$v ] &&
      kv "vulnerabilities/$v" "$(cat /sys/devices/system/cpu/vulnerabilities/$v)"
  done
  kv "nproc" "$(nproc)"
  kv "threads per core" "$(lscpu 2>/dev/null | awk -F': *' '/^Thread\(s\) per core/ { print $2 }')"
  kv "memory" "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
  kv "load at start" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
  kv "compiler" "$(${CC:-cc} --version 2>/dev/null | head -n 1)"
  kv "glibc" "$(ldd --version 2>/dev/null | head -n 1)"
  kv "liburcu" "$(pkg-config --modversion liburcu 2>/dev/null || echo '?')"
  kv "libstm" "$(git -C "$top" describe --always --dirty 2>/dev/null || echo '?') ($(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$bdir/config.h" 2>/dev/null))"
  "$bdir/tools/stm-probe" > "$out/probe.txt" 2>&1
  echo "rc=$?" >> "$out/logs/stage1.txt"
  awk '/^CPU facts:/,/^Path:/' "$out/probe.txt" | grep -E 'RTM|HLE|TSX|HWCAP2|known-bad|functional' |
    sed 's/^ *//' | while IFS= read -r l; do kv "probe" "$l"; done
}

# Run one program for stage 2 under a timeout, output to logs/NAME.txt.
run_logged() { # name timeout cmd...
  local name=$1 t=$2; shift 2
  timeout -k 5 "$t" "$@" > "$out/logs/$name.txt" 2>&1
}

# make check (TESTS=$1 if not empty) with STM_STATS=1; the test logs of
# this run in logs/check-tests.txt; sets `suites` to a summary of Check's
# closing lines.
check_suites() {
  local rc logs=()
  rm -f "$bdir"/tests/*.log "$bdir"/examples/*.log
  STM_STATS=1 run_logged check 600 make -C "$bdir" -s -j"$(nproc)" check ${1:+TESTS="$1"}; rc=$?
  logs=($(ls "$bdir"/tests/*.log "$bdir"/examples/*.log 2>/dev/null | grep -v test-suite.log))
  cat "${logs[@]}" > "$out/logs/check-tests.txt" 2>/dev/null
  suites=$(grep -h '^[0-9]*%: Checks:' "${logs[@]}" 2>/dev/null | awk '{ n++; c += $3; f += $5; e += $7 } END { printf "%d test programs (%d Check suites: %d checks, %d failures, %d errors)", '"${#logs[@]}"', n, c, f, e }')
  return $rc
}

stage2_hw() {
  export STM_MODE=htm STM_ADAPTIVE=0
  local rc s tests=""
  # the Check suites (and the examples make check runs)
  [ "$quick" = 1 ] && tests="tests/test_api tests/test_stats tests/test_stress tests/test_retry tests/test_ds examples/report"
  check_suites "$tests"; rc=$?
  s=($(sum_stats "$out/logs/check-tests.txt" 1))
  if [ "$rc" -eq 0 ] && [ "${s[0]}" -gt 0 ]; then r=PASS; else r=FAIL; fi
  record "Check suites$([ "$quick" = 1 ] && echo ' (quick subset)')" "$r" "${s[0]}" "$((s[0] + s[1] + s[2]))" \
    "make check rc=$rc; $suites; with test_stress (the bank invariant and the opacity probes); hardware aborts: conflict ${s[3]} capacity ${s[4]} explicit ${s[5]} other ${s[6]}"

  # the bank example: its invariant, its consistent reports, hardware commits
  local t n=$(nproc) secs=1
  for t in $(echo 2 "$n" | tr ' ' '\n' | sort -nu); do
    STM_STATS=2 run_logged "bank-t$t" 60 "$bdir/examples/bank" -t "$t" -a 64 -s "$secs"; rc=$?
    s=($(sum_stats "$out/logs/bank-t$t.txt" 1))
    local inc
    inc=$(sed -n 's/.*inconsistent reports: \([0-9]*\).*/\1/p' "$out/logs/bank-t$t.txt")
    if [ "$rc" -eq 0 ] && [ "${s[0]}" -gt 0 ] && [ "${inc:-x}" = 0 ]; then r=PASS; else r=FAIL; fi
    record "bank example: $t threads on 64 accounts" "$r" "${s[0]}" "$((s[0] + s[1] + s[2]))" \
      "rc=$rc; totals conserved; inconsistent reports ${inc:-?}; hardware aborts: conflict ${s[3]} capacity ${s[4]}"
  done
  # single-threaded small transactions: >= 90% of the transfers in hardware
  STM_STATS=2 run_logged bank-t1 60 "$bdir/examples/bank" -t 1 -a 1024 -s "$secs"; rc=$?
  local row hw all
  row=$(sites_csv "$out/logs/bank-t1.txt" x | head -n 1) # the busiest: transfer
  all=$(echo "$row" | cut -d, -f3); hw=$(echo "$row" | cut -d, -f4)
  if [ "$rc" -eq 0 ] && [ "${hw:-0}" -gt 0 ] && [ "$(awk -v h="${hw:-0}" -v a="${all:-0}" 'BEGIN { print (a > 0 && h >= 0.9 * a) }')" = 1 ]; then r=PASS; else r=FAIL; fi
  record "single-threaded transfers >= 90% in hardware" "$r" "${hw:-0}" "${all:-0}" \
    "bank -t 1 -a 1024: $(pct "${hw:-0}" "${all:-0}")% of the busiest site's commits in hardware"

  # the opacity probes and the bank invariant under contention (test_stress)
  # ran with the suites above; the history checker when it is built
  hist_check
}

# The history checker (tests/history/histcheck, issue 9 "hist"): random
# transactions recorded and checked offline for strict serializability and
# opacity, here on the path this environment selects (STM_MODE=htm
# STM_ADAPTIVE=0 with hardware).  A build without it says "not built".
hist_check() {
  local h t
  t=$(nproc); [ "$t" -lt 4 ] && t=4
  for h in "$bdir/tests/history/histcheck" "$bdir/tests/histcheck"; do
    [ -x "$h" ] || continue
    STM_STATS=1 run_logged histcheck 120 "$h" -t "$t" -n "$([ "$quick" = 1 ] && echo 300 || echo 1200)" \
      --round 150 -k 8 --seed "$RANDOM" -q; local rc=$?
    local s=($(sum_stats "$out/logs/histcheck.txt" "$hw"))
    if [ "$rc" -eq 0 ] && { [ "$hw" = 0 ] || [ "${s[0]}" -gt 0 ]; }; then r=PASS; else r=FAIL; fi
    record "history checker ($t threads)" "$r" "${s[0]}" "$((s[0] + s[1] + s[2]))" \
      "rc=$rc; strict serializability and opacity of every recorded attempt; $(grep -h '^histcheck:' "$out/logs/histcheck.txt" | tail -n 1)"
    return
  done
  record "history checker" "not built" 0 0 "this build has no tests/history/histcheck"
}

stage2_nohw() {
  local rc s tests=""
  [ "$quick" = 1 ] && tests="tests/test_api tests/test_stats tests/test_stress tests/test_htm_emu"
  check_suites "$tests"; rc=$?
  s=($(sum_stats "$out/logs/check-tests.txt" 0))
  if [ "$rc" -eq 0 ]; then r=PASS; else r=FAIL; fi
  record "Check suites in software$([ "$quick" = 1 ] && echo ' (quick subset)')" "$r" 0 "$((s[0] + s[1] + s[2]))" "make check rc=$rc; $suites"
  # the emulation back end drives the real hardware loop (commits and aborts
  # of every cause, injected)
  run_logged htm-emu 120 "$bdir/tests/test_htm_emu"; rc=$?
  if [ "$rc" -eq 0 ]; then r=PASS; else r=FAIL; fi
  record "emulated hardware path (test_htm_emu)" "$r" 0 0 "rc=$rc; $(grep -h '^[0-9]*%: Checks:' "$out/logs/htm-emu.txt" | tail -n 1)"
  # the real RTM instructions, forced, under valgrind: every xbegin aborts
  case $(uname -m) in
    x86_64)
      if command -v valgrind > /dev/null; then
        local vg=(valgrind -q --error-exitcode=99 --trace-children=yes)
        STM_HTM_FORCE=1 STM_MODE=htm STM_ADAPTIVE=0 STM_STATS=1 \
          run_logged valgrind-htm-force 240 "${vg[@]}" "$bdir/tests/test_htm_force"; rc=$?
        s=($(sum_stats "$out/logs/valgrind-htm-force.txt" 0))
        if [ "$rc" -eq 0 ] && grep -q '^hardware path ran for real' "$out/logs/valgrind-htm-force.txt"; then r=PASS; else r=FAIL; fi
        record "forced RTM under valgrind (test_htm_force)" "$r" "${s[0]}" "$((s[0] + s[1] + s[2]))" \
          "rc=$rc; every xbegin aborted: capacity ${s[4]}, other ${s[6]}; all committed in software"
        if [ "$quick" = 0 ]; then
          STM_HTM_FORCE=1 STM_MODE=htm STM_ADAPTIVE=0 STM_STATS=1 \
            run_logged valgrind-bank 240 "${vg[@]}" "$bdir/examples/bank" -t 2 -a 64 -s 1; rc=$?
          s=($(sum_stats "$out/logs/valgrind-bank.txt" 0))
          if [ "$rc" -eq 0 ] && [ "${s[0]}" -eq 0 ] && [ "${s[4]}" -gt 0 ]; then r=PASS; else r=FAIL; fi
          record "forced RTM under valgrind (bank example, 2 threads)" "$r" "${s[0]}" "$((s[0] + s[1] + s[2]))" \
            "rc=$rc; capacity aborts ${s[4]}; invariant and reports checked by the example"
        fi
      else
        record "forced RTM under valgrind" "not run" 0 0 "valgrind is not installed"
      fi ;;
    *) record "forced hardware path" "not run" 0 0 "no emulator for $(uname -m) here (the POWER code runs under qemu in CI)" ;;
  esac
  hist_check
}

stage2() {
  echo "check,result,hardware_commits,all_commits,detail" > "$out/correctness.csv"
  if [ "$hw" = 1 ]; then stage2_hw; else stage2_nohw; fi
}

stage3() {
  echo "run,site,commits,hardware,software,serial,hw_conflict,hw_capacity,hw_explicit,hw_other,busy_waits,adaptive_skips,sw_aborts,blocked" > "$out/sites.csv"
  local t n=$(nproc) mode runs=()
  # (label, environment, program and arguments)
  if [ "$quick" = 1 ]; then
    runs+=("bank-auto-t$n|STM_MODE=${STM_MODE:-auto}|$bdir/examples/bank -t $n -a 64 -s 1")
  else
    for t in $(echo 1 2 "$n" | tr ' ' '\n' | sort -nu); do
      runs+=("bank-auto-t$t|STM_MODE=${STM_MODE:-auto}|$bdir/examples/bank -t $t -a 1024 -s 1")
      [ "$hw" = 1 ] && runs+=("bank-htm-noadapt-t$t|STM_MODE=htm STM_ADAPTIVE=0|$bdir/examples/bank -t $t -a 1024 -s 1")
    done
    runs+=("zipqueues|STM_MODE=${STM_MODE:-auto}|$bdir/examples/zipqueues")
    runs+=("bank_wait|STM_MODE=${STM_MODE:-auto}|$bdir/examples/bank_wait")
    runs+=("report|STM_MODE=${STM_MODE:-auto}|$bdir/examples/report")
  fi
  local spec label envs cmd
  for spec in "${runs[@]}"; do
    IFS='|' read -r label envs cmd <<< "$spec"
    # shellcheck disable=SC2086
    env $envs STM_STATS=2 timeout -k 5 60 $cmd > "$out/logs/profile-$label.txt" 2>&1
    echo "$label rc=$? ($envs $cmd)" >> "$out/logs/stage3.txt"
    sites_csv "$out/logs/profile-$label.txt" "$label" >> "$out/sites.csv"
  done
}

# Thread counts 1, 2, 4 ... and nproc.
thread_list() {
  local n=$(nproc) t=1 l=""
  while [ "$t" -lt "$n" ]; do l="$l$t,"; t=$((t * 2)); done
  echo "$l$n"
}

stage4() {
  local sb="$bdir/bench/stmbench" n=$(nproc) thr impls wl args=()
  [ -x "$sb" ] || { echo "stmbench not built" > "$out/logs/stage4.txt"; return 1; }
  if [ "$quick" = 1 ]; then
    thr=$(echo 1 "$n" | tr ' ' '\n' | sort -nu | paste -sd,)
    sets=("-w bank -A 64,4096 -R 0" "-w intset-hash")
    impls=libstm-stm,mutex,libitm
  else
    thr=$(thread_list)
    sets=("-w bank -A 64,4096 -R 0,0.01" "-w intset-hash,intset-skip" "-w queue")
    impls=libstm-stm,libstm-norec,libstm-serial,mutex,rwlock,finelock,libitm,libitm-ml_wt,libstm-itm
  fi
  [ "$hw" = 1 ] && impls="libstm-htm,libstm-auto,$impls"
  # keep what this stmbench has (libitm needs GCC's -fgnu-tm at build time)
  local im have=""
  for im in ${impls//,/ }; do
    if "$sb" -w bank -A 2 -i "$im" -t 1 -d 0.001 -r 1 --csv > /dev/null 2>&1; then have="$have,$im"
    else echo "$im: not available in this stmbench" >> "$out/logs/stage4.txt"; fi
  done
  impls=${have#,}
  # stmbench lists what each workload supports; ask it for the count of
  # measurements first (a zero-length dry run is not available: estimate)
  local nthr nimpl npoints budget d r
  nthr=$(echo "$thr" | tr ',' '\n' | wc -l)
  nimpl=$(echo "$impls" | tr ',' '\n' | wc -l)
  if [ "$quick" = 1 ]; then npoints=$((3 * nthr * nimpl)); else npoints=$((7 * nthr * (nimpl + 1))); fi
  budget=${bench_seconds:-$([ "$quick" = 1 ] && echo 25 || echo 130)}
  # per point: about 40 ms of fork and set-up besides the measured time
  read -r d r < <(awk -v b="$budget" -v p="$npoints" 'BEGIN {
      s = b / p - 0.04; r = 3; if (s / 3 < 0.15) r = 1
      d = s / r; if (d < 0.05) d = 0.05; if (d > 1) d = 1
      printf "%.2f %d\n", d, r }')
  echo "threads $thr; implementations $impls; about $npoints points; budget ${budget} s: ${d} s x $r runs per point" >> "$out/logs/stage4.txt"
  local lockcmd=()
  [ -n "$lock" ] && lockcmd=(flock "$lock")
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/logs/stage4.txt"
  : > "$out/logs/bench.csv.part"
  local set rc=0 first=1
  for set in "${sets[@]}"; do
    # shellcheck disable=SC2086
    "${lockcmd[@]}" "$sb" $set -i "$impls" -t "$thr" -d "$d" -r "$r" --csv > "$out/logs/bench-raw.csv" 2>> "$out/logs/bench-stderr.txt" || rc=1
    if [ $first = 1 ]; then cat "$out/logs/bench-raw.csv"; else tail -n +2 "$out/logs/bench-raw.csv"; fi >> "$out/logs/bench.csv.part"
    first=0
    if [ "$quick" = 0 ] && [ "$hw" = 1 ] && [ "$(uname -m)" = x86_64 ]; then
      # libitm's own hardware method (RTM with serial fallback)
      # shellcheck disable=SC2086
      ITM_DEFAULT_METHOD=htm "${lockcmd[@]}" "$sb" $set -i libitm -t "$thr" -d "$d" -r "$r" --csv 2>> "$out/logs/bench-stderr.txt" |
        tail -n +2 | sed 's/^libitm,/libitm-htm,/' >> "$out/logs/bench.csv.part" || rc=1
    fi
  done
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/logs/stage4.txt"
  mv "$out/logs/bench.csv.part" "$out/bench.csv"
  rm -f "$out/logs/bench-raw.csv"
  return $rc
}

# ---- a stage run by the main process: run it in a child under a timeout ----
if [ "${1:-}" = --run-stage ]; then
  eval "$(cat "$HW_REPORT_ENV")"
  "stage$2"
  exit $?
fi

# ---- main ---------------------------------------------------------------------
cd "$top" || exit 2
start=$SECONDS
bdir=${build:-build}
case $bdir in /*) ;; *) bdir="$top/$bdir" ;; esac
if [ -z "$out" ]; then
  out="$PWD/hw-report-$(hostname -s 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ)"
fi
case $out in /*) ;; *) out="$PWD/$out" ;; esac
rm -rf "$out" "$out.tar.gz"
mkdir -p "$out/logs" || exit 2
[ "$nohtm" = 1 ] && export STM_MODE=stm

echo "hw-report: building in $bdir"
b0=$SECONDS
{
  if [ -f "$bdir/Makefile" ]; then make -C "$bdir" -s -j"$(nproc)"
  else bash scripts/build.sh "${bdir#"$top"/}" "-O2 -g"; fi &&
    make -C "$bdir" -s -j"$(nproc)" check TESTS= && make -C "$bdir" -s bench/stmbench
} > "$out/logs/build.txt" 2>&1 || { echo "hw-report: build failed (see $out/logs/build.txt)"; tail -n 20 "$out/logs/build.txt"; exit 1; }
build_secs=$((SECONDS - b0))

# Hardware or not: what the probe decides in this environment.
path=$("$bdir/tools/stm-probe" 2>/dev/null | sed -n 's/^Path: \([^ ]*\).*/\1/p')
reason=$("$bdir/tools/stm-probe" 2>/dev/null | sed -n 's/^Path: [^ ]* (\(.*\))$/\1/p')
case $path in rtm|power-htm) hw=1 ;; *) hw=0 ;; esac
if [ "$hw" = 1 ]; then
  headline="Hardware TM: yes: libstm commits in hardware here ($path: $reason)."
else
  headline="No hardware TM: libstm runs in software here (path ${path:-?}: ${reason:-stm-probe failed})$([ "$nohtm" = 1 ] && echo '; hidden on purpose by --no-htm (STM_MODE=stm)')."
fi
echo "hw-report: $headline"

# settings the stage processes need
cat > "$out/logs/env.sh" <<EOF
out=$(printf %q "$out"); bdir=$(printf %q "$bdir"); top=$(printf %q "$top")
quick=$quick; nohtm=$nohtm; hw=$hw; lock=$(printf %q "$lock"); bench_seconds=$(printf %q "$bench_seconds")
EOF
export HW_REPORT_ENV="$out/logs/env.sh"

if [ "$quick" = 1 ]; then limits=(0 20 120 30 60); else limits=(0 30 400 120 400); fi
[ -n "$bench_seconds" ] && limits[4]=$((bench_seconds * 2 + 30))
names=("" "machine" "correctness" "abort profile" "benchmarks")
declare -A status secs
failed=0
for st in 1 2 3 4; do
  case ",$stages," in
    *",$st,"*) ;;
    *) status[$st]="not run (--stages)"; secs[$st]=0; continue ;;
  esac
  s0=$SECONDS
  echo "hw-report: stage $st (${names[$st]}), at most ${limits[$st]} s"
  timeout -k 10 "${limits[$st]}" bash "$self" --run-stage "$st" >> "$out/logs/stage$st.txt" 2>&1
  rc=$?
  secs[$st]=$((SECONDS - s0))
  case $rc in
    0) status[$st]="ran" ;;
    124|137) status[$st]="TIMED OUT after ${limits[$st]} s"; failed=1 ;;
    *) status[$st]="ran with errors (rc $rc)"; failed=1 ;;
  esac
done

# ---- stage 5: the report ------------------------------------------------------
s0=$SECONDS
rep="$out/report.md"
kvget() { awk -v k="$1" 'index($0, k " ") == 1 { s = substr($0, length(k) + 1); sub(/^ +/, "", s); print s; exit }' "$out/machine.txt" 2>/dev/null; }
cv_fail=0
[ -f "$out/correctness.csv" ] && grep -q ',FAIL,' "$out/correctness.csv" && { cv_fail=1; failed=1; }

# Benchmark summary lines: per panel, libstm's best path against the best
# baseline at 1 thread and at the most threads.
bench_verdicts() {
  [ -s "$out/bench.csv" ] || return
  awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
      w = $col["workload"]
      p = w == "bank" ? "A=" $col["accounts"] " R=" $col["report"] : w == "queue" ? "cap=" $col["capacity"] : "K=" $col["keys"] " U=" $col["update"] "%"
      key = w " " p; t = $col["threads"] + 0; v = $col["ops_per_s"] + 0; im = $col["impl"]
      if (!(key in seen)) { seen[key] = 1; order[++np] = key }
      if (t > maxt[key]) maxt[key] = t
      val[key, im, t] = v; impls[key, im] = 1
    }
    END {
      for (k = 1; k <= np; k++) {
        key = order[k]
        line = ""
        for (ti = 1; ti <= 2; ti++) {
          t = ti == 1 ? 1 : maxt[key]
          if (ti == 2 && t == 1) break
          bl = 0; bli = ""; hw = -1; sw = -1
          for (x in impls) {
            split(x, a, SUBSEP); if (a[1] != key) continue
            im = a[2]; v = val[key, im, t]
            if (im == "libstm-htm") hw = v
            else if (im == "libstm-stm") sw = v
            else if (im !~ /^libstm/ && im != "seq" && v > bl) { bl = v; bli = im }
          }
          if (bl == 0) continue
          line = line sprintf("%s%d thr: ", line == "" ? "" : "; ", t)
          if (hw >= 0) line = line sprintf("hardware %.2fx, ", hw / bl)
          line = line sprintf("software %.2fx the best baseline (%s, %.1f M/s)", sw / bl, bli, bl / 1e6)
        }
        print "- " key ": " line
      }
    }' "$out/bench.csv"
}

# A table per workload: rows implementations, columns threads, M ops/s
# (median of the runs) and, for libstm, the share committed in hardware.
bench_tables() {
  [ -s "$out/bench.csv" ] || { echo "(no benchmark data)"; return; }
  awk -F, -v hw="$hw" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
      w = $col["workload"]
      p = w == "bank" ? "A=" $col["accounts"] " R=" $col["report"] : w == "queue" ? "cap=" $col["capacity"] : "K=" $col["keys"] " U=" $col["update"] "%"
      key = w " " p; t = $col["threads"] + 0; im = $col["impl"]
      if (!(key in seen)) { seen[key] = 1; order[++np] = key }
      if (!((key, t) in st)) { st[key, t] = 1; tl[key] = tl[key] " " t }
      if (!((key, im) in si)) { si[key, im] = 1; il[key] = il[key] " " im }
      c = ""
      if (im ~ /^libstm/ && "commits_htm" in col) {
        all = $col["commits_htm"] + $col["commits_stm"] + $col["commits_serial"]
        if (all > 0 && im != "libstm-stm" && im != "libstm-serial") c = sprintf(" (%.0f%% hw)", 100 * $col["commits_htm"] / all)
      }
      cell[key, im, t] = sprintf("%.2f%s", $col["ops_per_s"] / 1e6, c)
    }
    END {
      for (k = 1; k <= np; k++) {
        key = order[k]
        n = split(substr(tl[key], 2), ts, " ")
        # numeric sort of the thread counts
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ts[j] + 0 < ts[i] + 0) { x = ts[i]; ts[i] = ts[j]; ts[j] = x }
        printf "\n**%s** (M ops/s, median)\n\n| impl |", key
        for (i = 1; i <= n; i++) printf " %s thr |", ts[i]
        printf "\n|---|"; for (i = 1; i <= n; i++) printf "---|"; printf "\n"
        m = split(substr(il[key], 2), ims, " ")
        if (hw == 0) { ims[++m] = "libstm-htm"; ims[++m] = "libstm-auto" }
        for (j = 1; j <= m; j++) {
          printf "| %s |", ims[j]
          for (i = 1; i <= n; i++) {
            v = cell[key, ims[j], ts[i]]
            if (v == "") v = (ims[j] == "libstm-htm" || ims[j] == "libstm-auto") && hw == 0 ? "n/a (no hardware TM)" : "-"
            printf " %s |", v
          }
          printf "\n"
        }
      }
    }' "$out/bench.csv"
}

# charts (gnuplot): one PNG for the whole sweep
chart=""
if [ -s "$out/bench.csv" ] && command -v gnuplot > /dev/null; then
  if bash "$top/bench/plot" "$out/bench.csv" "$out/bench.png" "libstm on $(kvget 'model name' | cut -c1-60), $(nproc) CPUs" > "$out/logs/plot.txt" 2>&1; then
    chart="bench.png"
  fi
fi

{
  echo "# libstm hardware report"
  echo
  echo "**$headline**"
  echo
  echo "$(kvget vendor) $(kvget 'model name'), family/model/stepping $(kvget 'family/model/stepping'), microcode $(kvget microcode); $(kvget kernel); $(kvget nproc) CPUs; load at start $(kvget 'load at start'). $([ "$quick" = 1 ] && echo 'Quick run' || echo 'Full run'), $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "## Verdicts"
  echo
  echo "| stage | status | verdict |"
  echo "|---|---|---|"
  v1="recorded: $(kvget 'cpuinfo flags'); $(kvget 'kernel TSX options')"
  echo "| 1 machine | ${status[1]} (${secs[1]} s) | $v1 |"
  if [ -s "$out/correctness.csv" ]; then
    np=$(grep -c ',PASS,' "$out/correctness.csv"); nf=$(grep -c ',FAIL,' "$out/correctness.csv")
    hwc=$(awk -F, 'NR > 1 { s += $3 } END { print s + 0 }' "$out/correctness.csv")
    if [ "$nf" -gt 0 ]; then v2="**FAIL**: $nf of $((np + nf)) checks failed ($(grep ',FAIL,' "$out/correctness.csv" | cut -d, -f1 | paste -sd';' | sed 's/;/; /g'))"
    elif [ "$hw" = 1 ]; then v2="PASS: $np checks on the hardware path, $hwc hardware commits"
    else v2="PASS: $np checks (software, emulated and forced-abort hardware paths; no hardware commit is possible here)"; fi
  else v2="no result"; fi
  echo "| 2 correctness | ${status[2]} (${secs[2]} s) | $v2 |"
  if [ -s "$out/sites.csv" ]; then
    v3=$(awk -F, 'NR > 1 { c[$2] += $3; h[$2] += $4 } END { for (s in c) if (c[s] > best) { best = c[s]; bs = s }; if (best) printf "%d site rows; busiest site %s: %d commits, %.1f%% in hardware", NR - 1, bs, best, 100 * h[bs] / best }' "$out/sites.csv")
  else v3="no result"; fi
  echo "| 3 abort profile | ${status[3]} (${secs[3]} s) | ${v3:-no sites} |"
  if [ -s "$out/bench.csv" ]; then v4="$(($(wc -l < "$out/bench.csv") - 1)) points$([ "$hw" = 0 ] && echo '; hardware rows not available (no hardware TM)'); see below"
  else v4="no result"; fi
  echo "| 4 benchmarks | ${status[4]} (${secs[4]} s) | $v4 |"
  echo
  bench_verdicts
  echo
  files=report.md
  for f in machine.txt probe.txt correctness.csv sites.csv bench.csv $chart; do [ -s "$out/$f" ] && files="$files, $f"; done
  echo "Total time $((SECONDS - start)) s (building $build_secs s).  Files: $files, logs/."
  echo
  echo "## 1. Machine"
  echo
  echo '```'
  cat "$out/machine.txt" 2>/dev/null
  echo '```'
  echo
  echo "stm-probe:"
  echo
  echo '```'
  cat "$out/probe.txt" 2>/dev/null
  echo '```'
  echo
  echo "## 2. Correctness"
  echo
  if [ "$hw" = 1 ]; then echo "Environment: STM_MODE=htm STM_ADAPTIVE=0 (every transaction tries hardware first)."
  else echo "No hardware TM: the suites run in software, the hardware loop runs on the emulation back end, and the real RTM code runs forced under valgrind (where every xbegin aborts)."; fi
  echo
  echo "| check | result | hardware commits | all commits | detail |"
  echo "|---|---|---|---|---|"
  [ -f "$out/correctness.csv" ] && awk -F, 'NR > 1 { printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$out/correctness.csv"
  echo
  echo "## 3. Abort profile per transaction site (STM_STATS=2)"
  echo
  echo "| run | site | commits | in hw | sw | serial | hw aborts: conflict | capacity | explicit | other | busy waits | adaptive skips | sw aborts | blocked |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  [ -f "$out/sites.csv" ] && awk -F, 'NR > 1 { printf "| %s | %s | %s | %s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, ($3 > 0 ? sprintf("%.1f", 100 * $4 / $3) : "-"), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 }' "$out/sites.csv"
  echo
  echo "## 4. Benchmarks (stmbench)"
  echo
  sed 's/^/    /' "$out/logs/stage4.txt" 2>/dev/null
  bench_tables
  [ -n "$chart" ] && { echo; echo "![throughput]($chart)"; }
  echo
  echo "## Stages"
  echo
  echo "- build (if needed): $build_secs s"
  for st in 1 2 3 4; do echo "- stage $st (${names[$st]}): ${status[$st]}, ${secs[$st]} s"; done
  echo "- stage 5 (report and archive): ran"
  echo
  echo "Command: scripts/hw-report.sh$([ "$quick" = 1 ] && echo ' --quick')$([ "$nohtm" = 1 ] && echo ' --no-htm') --stages $stages; load at end $(cut -d' ' -f1-3 /proc/loadavg)."
} > "$rep"

tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "hw-report: stage 5 (report) $((SECONDS - s0)) s; total $((SECONDS - start)) s"
echo "hw-report: wrote $rep and $out.tar.gz"
sed -n '1,/^Total time/p' "$rep"
exit $failed
