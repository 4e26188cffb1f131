#!/usr/bin/env bash
# Whole-binary response times of `dropcase serve` on the default drill (about a million
# sessions), for BENCHMARKS.md: each page and action N times over HTTP on 127.0.0.1, median
# and slowest. Usage: bash benches/serve_pages.sh [path/to/dropcase] [N]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/dropcase}"
N="${2:-11}"
HOME_DIR="$(mktemp -d)"
PORT=18799
export DROPCASE_HOME="$HOME_DIR"
"$BIN" serve --port "$PORT" 2>"$HOME_DIR/serve.log" &
SERVER=$!
trap 'kill $SERVER; rm -rf "$HOME_DIR"' EXIT
B="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -s -o /dev/null "$B/" && break; sleep 0.1; done
JAR="$HOME_DIR/cookies"
T=$(curl -s -c "$JAR" -b "$JAR" "$B/api/session" | sed -n 's/.*"token": "\([0-9a-f]*\)".*/\1/p')
start=$(date +%s.%N)
curl -s -o /dev/null -b "$JAR" -d "csrf=$T&kind=drop&family=release_bug&seed=7" "$B/start"
echo "start (generates the default drill): $(echo "$(date +%s.%N) - $start" | bc) s"
measure() {
    local name="$1"; shift
    local times=()
    for _ in $(seq "$N"); do
        times+=("$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" "$@")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '{a[NR]=$1} END {printf "%-34s median %4.0f ms   slowest %4.0f ms\n", name, a[int((NR+1)/2)]*1000, a[NR]*1000}'
}
measure "GET / (home)" "$B/"
measure "GET /drill/7 (drill page)" "$B/drill/7"
measure "POST compare --by platform" -d "csrf=$T&by=platform" "$B/drill/7/compare"
measure "POST compare --by platform,app_version" -d "csrf=$T&by=platform&by=app_version" "$B/drill/7/compare"
measure "POST trend (day)" -d "csrf=$T&metric=conversion&grain=day" "$B/drill/7/trend"
measure "POST trend (hour, by platform)" -d "csrf=$T&metric=conversion&grain=hour&by=platform" "$B/drill/7/trend"
measure "POST funnel" -d "csrf=$T" "$B/drill/7/funnel"
measure "POST sql (group by platform)" --data-urlencode "query=SELECT platform, COUNT(*) FROM sessions GROUP BY 1" -d "csrf=$T" "$B/drill/7/sql"
measure "POST sql (context: releases)" --data-urlencode "query=SELECT * FROM releases" -d "csrf=$T" "$B/drill/7/sql"
measure "GET /api/drill/7" "$B/api/drill/7"
