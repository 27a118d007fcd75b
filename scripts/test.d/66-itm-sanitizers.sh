#!/usr/bin/env bash
# libstm-itm under the sanitizers.  gcc 12 cannot compile -fgnu-tm code
# with -fsanitize=address (refused), -fsanitize=thread or
# -fsanitize=undefined (internal compiler errors), so the test programs (the
# Check suite tests/itm/test_itm, examples/bank_itm and GCC's libitm C
# testsuite on the software path) are compiled without instrumentation and
# linked with the sanitized libstm-itm of the build-asan (ASan+UBSan) and
# build-tsan trees of steps 20 and 30: every access the library makes (the
# logs, write-back, validation, allocation and reclamation) is checked.
# Any report fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "$(uname -m)" in x86_64) ;; *) echo "libstm-itm is built on x86-64 only"; exit 0 ;; esac
bash scripts/build.sh build-asan "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
bash scripts/build.sh build-tsan "-O1 -g -fsanitize=thread"
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
for san in asan tsan; do
  b=build-$san
  case $san in
    asan) cflags="-fno-omit-frame-pointer"; ldflags="-fsanitize=address,undefined" ;;
    # TSan cannot see that a hardware transaction's plain accesses are
    # atomic (it reports races between them and software readers): the
    # TSan runs use the software paths only
    tsan) cflags=""; ldflags="-fsanitize=thread"; export ITM_TEST_AUTO=stm ;;
  esac
  lib=$PWD/$b/.libs
  echo "--- $san: tests/itm/test_itm"
  # compile, then link with the sanitizer (its runtime must come first)
  gcc -O1 -g -fgnu-tm -pthread $cflags $(pkg-config --cflags check) -Iinclude \
      -c tests/itm/test_itm.c -o $b/itm-test_itm.o
  gcc $b/itm-test_itm.o -o $b/itm-test_itm $ldflags -L"$lib" -lstm-itm -Wl,-rpath,"$lib" \
      $(pkg-config --libs check) -lpthread
  CK_TIMEOUT_MULTIPLIER=4 $b/itm-test_itm 2>&1 | tail -n 3
  echo "--- $san: examples/bank_itm"
  gcc -O1 -g -fgnu-tm -pthread $cflags -Iinclude -c examples/bank_itm.c -o $b/itm-bank.o
  gcc $b/itm-bank.o -o $b/itm-bank $ldflags -L"$lib" -lstm-itm -Wl,-rpath,"$lib" -lpthread
  for mode in ${ITM_TEST_AUTO:-auto} stm serial; do STM_MODE=$mode $b/itm-bank | tail -n 1; done
  echo "--- $san: GCC's libitm C testsuite (software path)"
  ITM_SUITE_MODES=stm ITM_SUITE_LDFLAGS="$ldflags" bash tests/itm/gcc-suite.sh $b | tail -n 1
done
