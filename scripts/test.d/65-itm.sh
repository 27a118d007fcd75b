#!/usr/bin/env bash
# libstm-itm as users meet it (the Check suite tests/itm/test_itm and
# examples/bank_itm run in the make check of the other steps):
#  (a) installed, then `gcc -fgnu-tm prog.c $(pkg-config --cflags --libs
#      libstm-itm)`: the program needs libstm-itm and not libitm;
#  (b) LD_PRELOAD under a binary built for libitm: libstm-itm's symbols are
#      the ones bound (its statistics count the transactions);
#  (c) GCC's own libitm C testsuite from the gcc-12-source tarball, on
#      every path (tests/itm/gcc-suite.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "$(uname -m)" in x86_64) ;; *) echo "libstm-itm is built on x86-64 only"; exit 0 ;; esac
bash scripts/build.sh build "-O2 -g"
dest=$PWD/build/itm-install
rm -rf "$dest"
make -C build -s install DESTDIR="$dest" >/dev/null
prefix=$(sed -n 's/^prefix=//p' build/libstm-itm.pc)
libdir=$(sed -n 's/^libdir=//p' build/libstm-itm.pc | sed "s|\${exec_prefix}|$prefix|;s|\${prefix}|$prefix|")
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$dest$libdir/pkgconfig
echo "--- (a) pkg-config: $(pkg-config --cflags --libs libstm-itm)"
gcc -O2 -fgnu-tm examples/bank_itm.c $(pkg-config --cflags --libs libstm-itm) -lpthread \
    -o build/itm-bank-installed
readelf -d build/itm-bank-installed | grep NEEDED
readelf -d build/itm-bank-installed | grep -q 'libstm-itm\.so\.0' || { echo "libstm-itm not NEEDED"; exit 1; }
if readelf -d build/itm-bank-installed | grep -q 'libitm\.so'; then echo "libitm is NEEDED"; exit 1; fi
LD_LIBRARY_PATH=$dest$libdir build/itm-bank-installed
man -l "$dest$prefix/share/man/man7/stm-itm.7" >/dev/null 2>&1 || { echo "stm-itm(7) missing"; exit 1; }

echo "--- (b) LD_PRELOAD under a binary linked against libitm"
cat > build/itm-preload.c <<'C'
#include <pthread.h>
#include <stdio.h>
static long counter;
static void *work(void *a) { for (int i = 0; i < 100000; i++) __transaction_atomic { counter++; } return a; }
int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return counter == 400000 ? 0 : 1;
}
C
gcc -O2 -fgnu-tm -pthread build/itm-preload.c -o build/itm-preload
readelf -d build/itm-preload | grep -q 'libitm\.so' || { echo "not linked against libitm"; exit 1; }
for mode in auto stm serial; do
  out=$(STM_MODE=$mode STM_STATS=1 LD_PRELOAD=$dest$libdir/libstm-itm.so.0 build/itm-preload 2>&1)
  echo "$out" | grep -E '^counter|commits' | head -n 2
  echo "$out" | grep -q '^counter 400000' || { echo "wrong count ($mode)"; exit 1; }
  # libstm's statistics line proves that its _ITM_ symbols were bound
  echo "$out" | grep -qE 'commits +40000[0-9]' || { echo "libstm-itm was not used ($mode)"; exit 1; }
done

echo "--- (c) GCC's libitm C testsuite"
bash tests/itm/gcc-suite.sh build | grep -vE '^(PASS|XFAIL|XPASS):'
