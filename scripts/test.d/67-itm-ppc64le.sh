#!/usr/bin/env bash
# libstm-itm's ppc64le entry point (src/itm/ppc64le.S) under
# qemu-ppc64le -cpu power9: GCC's libitm C testsuite and the bank example,
# cross-compiled with -fgnu-tm and linked statically (tests/itm/ppc64le.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
rc=0
bash tests/itm/ppc64le.sh build-ppc64le-itm | grep -vE '^(PASS|XFAIL):' || rc=$?
[ "$rc" -eq 77 ] && { echo "cross tools or gcc-12-source missing: run scripts/setup-debian.sh"; exit 1; }
exit "$rc"
