#!/usr/bin/env bash
# Fuzz the environment parser for a few seconds with libFuzzer (clang-14),
# starting from the committed corpus; new inputs go to build-fuzz/corpus so
# the committed one is left alone.  Any crash or sanitizer report fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${STM_FUZZ_SECONDS:-10}
mkdir -p build-fuzz/corpus
clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -D_GNU_SOURCE -Isrc/core -o build-fuzz/fuzz_config tests/fuzz/fuzz_config.c src/core/config.c -lpthread
build-fuzz/fuzz_config -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix=build-fuzz/ build-fuzz/corpus tests/fuzz/corpus 2>&1 | tail -n 25
