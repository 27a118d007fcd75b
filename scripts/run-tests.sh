#!/usr/bin/env bash
# The whole test suite: every step in scripts/test.d/ in order, then the
# Check closing lines of every test log.  Exit status: 0 only if all passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
failed=()
for step in scripts/test.d/*.sh; do
  name=$(basename "$step" .sh)
  echo "=== $name"
  start=$(date +%s)
  if bash "$step"; then
    echo "=== $name: passed ($(( $(date +%s) - start )) s)"
  else
    echo "=== $name: FAILED ($(( $(date +%s) - start )) s)"
    failed+=("$name")
  fi
done
echo "=== Check results (from the automake test logs)"
find build* -name '*.log' ! -name 'test-suite.log' ! -name 'config.log' 2>/dev/null |
  sort | while read -r log; do
    line=$(grep -h '^[0-9]*%: Checks:' "$log" | tail -n 1)
    [ -n "$line" ] && echo "$log: $line"
  done
echo "=== History checker runs (tests/history: one line per run)"
find build* -name '*.log' ! -name 'test-suite.log' ! -name 'config.log' 2>/dev/null | sort |
  xargs -r grep -H -E '^histcheck(-broken)?: path=' 2>/dev/null || true
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"
