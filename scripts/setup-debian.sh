#!/usr/bin/env bash
# Install everything libstm needs to build, test and benchmark on Debian 12.
# Run as root (or with sudo).  Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential autoconf automake libtool pkg-config
      liburcu-dev libcpuid-dev check libsubunit-dev
      clang-14 libclang-rt-14-dev valgrind spin gnuplot-nox
      gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross qemu-user
      gcc-12-source)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
