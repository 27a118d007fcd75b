#!/usr/bin/env bash
# The checker catches a broken library: histcheck-broken links a copy of
# libstm whose NOrec validation always passes (STM_TEST_BROKEN_VALIDATION)
# and runs software transactions, round after round, until the checker
# reports a violation (exit 0, with the report) or 400 rounds pass (exit 1).
set -u
bin=${HISTCHECK_BROKEN:-tests/history/histcheck-broken}
STM_MODE=stm timeout 600 "$bin" --seed "${HISTCHECK_SEED:-$RANDOM}"
