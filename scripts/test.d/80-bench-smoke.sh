#!/usr/bin/env bash
# stmbench smoke run: every workload and implementation briefly at 1 and 3
# threads, bank with consistent full-sum reports.  Asserts nothing about
# speed; fails when a run fails its consistency check (a report or the end
# total of the bank is wrong, an intset lost order or size, the queue lost
# items).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build "-O2 -g"
make -C build -s bench/stmbench
build/bench/stmbench --duration 0.05 --repeat 1 --threads 1,3 \
    --accounts 64 --report 0,0.05 --keys 256 --update 20
