#!/usr/bin/env bash
# The Check suites under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer; any report fails the test.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build-asan "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=0 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
make -C build-asan -s check -j"$(nproc)" || { tail -n 80 build-asan/test-suite.log 2>/dev/null; exit 1; }
