#!/usr/bin/env bash
# The Check suites under ThreadSanitizer.  liburcu is not built with TSan:
# tests/tsan.supp says which of its internals TSan cannot see and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build-tsan "-O1 -g -fsanitize=thread"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
make -C build-tsan -s check -j"$(nproc)" || { tail -n 80 build-tsan/test-suite.log 2>/dev/null; exit 1; }
