#!/usr/bin/env python3
"""Side by side in one run: dropcase (whole process) against DuckDB (the `duckdb` Python
package, query time after `import duckdb`) on the same drill's sessions.parquet.

    python3 benches/vs_duckdb.py DRILL_DIR [DROPCASE_BINARY] [RUNS]

Prints the median wall time of RUNS runs (default 5) for each of issue 16's queries, and
for the hourly trend also from an hourly cube (`dropcase cube --grain hour`, built once).
"""
import os, statistics, subprocess, sys, tempfile, time, tomllib

import duckdb

drill = os.path.abspath(sys.argv[1])
binary = sys.argv[2] if len(sys.argv) > 2 else "dropcase"
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
parquet = os.path.join(drill, "sessions.parquet")
# The drill's own windows (what dropcase's compare uses by default): the calendar moves
# with the seed, so fixed dates would leave DuckDB's filters empty.
with open(os.path.join(drill, "drill.toml"), "rb") as f:
    brief = tomllib.load(f)
baseline = (str(brief["baseline"]["from"]), str(brief["baseline"]["to"]))
current = (str(brief["current"]["from"]), str(brief["current"]["to"]))


def median(f):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dropcase(*args):
    def run():
        subprocess.run([binary, *args, "--format", "csv"], check=True, stdout=subprocess.DEVNULL)
    return run


def duck(sql):
    def run():
        con = duckdb.connect()
        con.execute(sql.format(src=f"read_parquet('{parquet}')")).fetchall()
        con.close()
    return run


window = lambda w: f"date BETWEEN DATE '{w[0]}' AND DATE '{w[1]}'"
cube = os.path.join(tempfile.mkdtemp(), "hours.parquet")
start = time.perf_counter()
subprocess.run([binary, "cube", "--data", drill, "--by", "platform", "--grain", "hour", "--out", cube],
               check=True, stderr=subprocess.DEVNULL)
cube_build = time.perf_counter() - start

cases = [
    ("query trend --metric conversion --grain hour --by platform",
     dropcase("query", "trend", "--metric", "conversion", "--grain", "hour", "--by", "platform", "--data", drill),
     "SELECT date_trunc('hour', ts) AS h, platform, avg(purchased::INT), count(*) FROM {src} GROUP BY ALL ORDER BY ALL"),
    ("  the same from an hourly cube (--cube)",
     dropcase("query", "trend", "--metric", "conversion", "--grain", "hour", "--by", "platform", "--cube", cube),
     None),
    ("query compare --metric page_load_p75 --by device",
     dropcase("query", "compare", "--metric", "page_load_p75", "--by", "device", "--data", drill),
     f"SELECT device, quantile_cont(page_load_ms, 0.75) FILTER (WHERE {window(baseline)}), "
     f"quantile_cont(page_load_ms, 0.75) FILTER (WHERE {window(current)}) FROM {{src}} GROUP BY device"),
    ("query trend --metric sessions_per_user",
     dropcase("query", "trend", "--metric", "sessions_per_user", "--data", drill),
     "SELECT date, count(*) / count(DISTINCT user_id) FROM {src} GROUP BY date ORDER BY date"),
]
print(f"hourly cube built once in {cube_build:.2f} s ({os.path.getsize(cube)} bytes)")
print("| query | dropcase | DuckDB | ratio |\n|---|---|---|---|")
duck_time = None
for name, ours, sql in cases:
    mine = median(ours)
    if sql is not None:
        duck_time = median(duck(sql))
    print(f"| `{name.strip()}` | {mine:.2f} s | {duck_time:.2f} s | {mine / duck_time:.2f}× |")
