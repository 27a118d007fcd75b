#!/usr/bin/env bash
# libstm-itm under the sanitizers.  gcc 12 cannot compile -fgnu-tm code
# with -fsanitize=address (refused) or -fsanitize=thread (crash), so the
# test programs (the Check suite tests/itm/test_itm, examples/bank_itm and
# GCC's libitm C testsuite on the software path) are compiled without that
# instrumentation (UBSan stays on under ASan) and linked with the sanitized
# libstm-itm of the build-asan and build-tsan trees of steps 20 and 30:
# every access the library makes, the logs, write-back, validation,
# allocation and reclamation, is checked.  Any report fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "$(uname -m)" in x86_64) ;; *) echo "libstm-itm is built on x86-64 only"; exit 0 ;; esac
bash scripts/build.sh build-asan "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
bash scripts/build.sh build-tsan "-O1 -g -fsanitize=thread"
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
check_flags=$(pkg-config --cflags --libs check)
for san in asan tsan; do
  b=build-$san
  case $san in
    asan) cflags="-fsanitize=undefined -fno-omit-frame-pointer"; ldflags="-fsanitize=address,undefined" ;;
    tsan) cflags=""; ldflags="-fsanitize=thread" ;;
  esac
  lib=$PWD/$b/.libs
  echo "--- $san: tests/itm/test_itm"
  gcc -O1 -g -fgnu-tm -pthread $cflags -Iinclude tests/itm/test_itm.c -o $b/itm-test_itm \
      $ldflags -L"$lib" -lstm-itm -Wl,-rpath,"$lib" $check_flags
  CK_TIMEOUT_MULTIPLIER=4 $b/itm-test_itm 2>&1 | tail -n 3
  echo "--- $san: examples/bank_itm"
  gcc -O1 -g -fgnu-tm -pthread $cflags -Iinclude examples/bank_itm.c -o $b/itm-bank \
      $ldflags -L"$lib" -lstm-itm -Wl,-rpath,"$lib"
  for mode in auto stm serial; do STM_MODE=$mode $b/itm-bank | tail -n 1; done
  echo "--- $san: GCC's libitm C testsuite (software path)"
  ITM_SUITE_MODES=stm ITM_SUITE_LDFLAGS="$ldflags" bash tests/itm/gcc-suite.sh $b | tail -n 1
done
