#!/usr/bin/env python3
"""The contention sweep of bench/README.md ("Results of 0.3"), new against
old: bank (-A 64,4096 -R 0,0.01) and the three intsets at 1, 2, 4 and 8
threads.  Each repetition runs every point once, this build's stmbench
and then the old one's, so that both see the same machine; the output is
CSV with the median, minimum and maximum per point (millions of
operations per second).

    python3 bench/compare.py NEW_STMBENCH [OLD_STMBENCH|-] [REPS] [SECONDS] > out.csv

NEW_STMBENCH: e.g. build/bench/stmbench; OLD_STMBENCH: the same binary of
another checkout's build, or - for none (old rows run libstm-stm and
libstm-auto).  Defaults: 4 repetitions of 0.5 s.  STM_MODE is removed from
the environment (each implementation sets its own).
"""
import collections
import csv
import io
import os
import statistics
import subprocess
import sys
import time

if len(sys.argv) < 2:
    sys.exit(__doc__)
new = sys.argv[1]
old = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != '-' else None
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 4
secs = sys.argv[4] if len(sys.argv) > 4 else '0.5'

all_impls = 'libstm-stm,libstm-norec,libstm-serial,libstm-auto,mutex,libitm'
old_impls = 'libstm-stm,libstm-auto'
bank = ['-w', 'bank', '-A', '64,4096', '-R', '0,0.01']
intset = ['-w', 'intset-list,intset-skip,intset-hash']
runs = [('new', new, bank + ['-i', all_impls]), ('new', new, intset + ['-i', all_impls])]
if old:
    runs += [('old', old, bank + ['-i', old_impls]), ('old', old, intset + ['-i', old_impls])]
common = ['-t', '1,2,4,8', '-r', '1', '-d', secs, '--csv']
env = {k: v for k, v in os.environ.items() if k != 'STM_MODE'}

rates = collections.defaultdict(list)
for rep in range(reps):
    for label, exe, args in runs:
        out = subprocess.run([exe] + args + common, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print('compare.py: %s %s failed: %s' % (exe, ' '.join(args), out.stderr[-400:]),
                  file=sys.stderr)
        for row in csv.DictReader(io.StringIO(out.stdout)):
            key = (row['workload'], row['accounts'], row['report'], row['threads'],
                   label + ':' + row['impl'])
            rates[key].append(float(row['ops_per_s']) / 1e6)
    print('compare.py: repetition %d done %s' % (rep + 1, time.strftime('%H:%M:%S')),
          file=sys.stderr)

w = csv.writer(sys.stdout)
w.writerow(['workload', 'accounts', 'report', 'threads', 'impl', 'median', 'min', 'max', 'n'])
for key in sorted(rates):
    v = rates[key]
    w.writerow(list(key) + ['%.3f' % statistics.median(v), '%.3f' % min(v), '%.3f' % max(v),
                            len(v)])
