#!/usr/bin/env bash
# POWER: cross-compile for ppc64le and run under qemu-ppc64le -cpu power9
# with the hardware path forced (tests/cross/ppc64le.sh says what runs).
# Stable here: no multiarch packages needed (static, liburcu stand-in).
set -euo pipefail
cd "$(dirname "$0")/../.."
rc=0
bash tests/cross/ppc64le.sh build-ppc64le || rc=$?
if [ "$rc" -eq 77 ]; then
  echo "cross tools missing: run scripts/setup-debian.sh"; exit 1
fi
exit "$rc"
