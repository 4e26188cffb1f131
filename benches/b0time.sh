#!/usr/bin/env bash
# Best of 3 whole-process times of `dropcase diagnose --leaves` per Squeeze B0 case, and
# their mean (issue 18): bash benches/b0time.sh CASES_DIR BINARY
set -euo pipefail
dir=$1 bin=$2 total=0 n=0
while IFS= read -r f; do
  best=999999999999
  for _ in 1 2 3; do
    s=$(date +%s%N); "$bin" diagnose --leaves "$f" --actual real --expected predict --format json > /dev/null; e=$(date +%s%N)
    t=$((e - s)); [ $t -lt $best ] && best=$t
  done
  total=$((total + best)) n=$((n + 1))
  echo "$f $((best / 1000)) us"
done < <(find "$dir" -name "*.csv" ! -name injection_info.csv | sort)
echo "mean_ms $((total / n / 1000000))"
