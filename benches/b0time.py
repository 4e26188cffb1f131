"""Whole-process time of `dropcase diagnose --leaves` per Squeeze B0 case (issue 18).

    python3 benches/b0time.py CASES_DIR BINARY [BINARY ...]

CASES_DIR holds the extracted dev set (`tar xf ../shared/rca-dev/squeeze-B0-dev27.tar.xz`);
every `*.csv` under it but `injection_info.csv` is a case. Each case runs 5 times per binary,
the binaries alternating, and the script prints the mean over cases of each case's median and
best time (Python's process spawning included).
"""
import glob
import statistics as st
import subprocess
import sys
import time

cases_dir, bins = sys.argv[1], sys.argv[2:]
cases = sorted(f for f in glob.glob(f"{cases_dir}/**/*.csv", recursive=True) if "injection" not in f)
if not cases or not bins:
    sys.exit(f"usage: {sys.argv[0]} CASES_DIR BINARY [BINARY ...] (no cases found under {cases_dir!r})")
times = {b: {} for b in bins}
for case in cases:
    for _ in range(5):
        for b in bins:
            t = time.perf_counter()
            argv = [b, "diagnose", "--leaves", case, "--actual", "real", "--expected", "predict", "--format", "json"]
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            times[b].setdefault(case, []).append(time.perf_counter() - t)
for b in bins:
    per = times[b].values()
    print(
        f"{b}: {len(cases)} cases, mean of per-case medians {1000 * st.mean(map(st.median, per)):.1f} ms, "
        f"mean of per-case best {1000 * st.mean(map(min, per)):.1f} ms"
    )
