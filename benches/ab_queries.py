#!/usr/bin/env python3
"""Interleaved A/B of dropcase binaries on two raw-row queries of a drill (issue 16's
hourly trend and percentile compare): each round runs every binary once per query, the
order alternating between rounds; prints the median wall time and user + sys CPU.

    python3 benches/ab_queries.py DRILL_DIR BINARY_A,BINARY_B[,...] [ROUNDS]
"""
import os, statistics, subprocess, sys, time

drill = os.path.abspath(sys.argv[1])
bins = sys.argv[2].split(",")
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 11
queries = {
    "hourly": ["query", "trend", "--metric", "conversion", "--grain", "hour", "--by", "platform"],
    "p75": ["query", "compare", "--metric", "page_load_p75", "--by", "device"],
}
res = {(b, q): ([], []) for b in bins for q in queries}
for i in range(rounds):
    for q, args in queries.items():
        for b in bins if i % 2 == 0 else bins[::-1]:
            start = time.perf_counter()
            p = subprocess.Popen([b, *args, "--data", drill, "--format", "csv"], stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(p.pid, 0)
            if status != 0:
                sys.exit(f"{b} {' '.join(args)} failed")
            res[(b, q)][0].append(time.perf_counter() - start)
            res[(b, q)][1].append(usage.ru_utime + usage.ru_stime)
for (b, q), (wall, cpu) in res.items():
    print(f"{q:7} {b:30} wall median {statistics.median(wall):.3f} s (min {min(wall):.3f})  "
          f"cpu median {statistics.median(cpu):.3f} s")
