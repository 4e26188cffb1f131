#!/usr/bin/env bash
# Side-by-side generation speed: the shop's tuned generator and the generic product
# generator, 10M rows each, alternating runs with one binary. Usage: bench-products.sh BIN RUNS
set -euo pipefail
bin=$1; runs=${2:-3}; out=$(mktemp -d)
for i in $(seq "$runs"); do
  for case in "app_release_bug shop" "wau_push_outage eng"; do
    set -- $case
    start=$(date +%s.%N)
    "$bin" generate --scenario "$1" --seed "$i" --sessions 10000000 --out "$out/$2" --force >/dev/null 2>"$out/err"
    end=$(date +%s.%N)
    rows=$(grep -o 'wrote [^ ]* ([0-9,]* ' "$out/err" | grep -o '([0-9,]*' | tr -d '(,')
    draws=$(grep -o '[0-9]* draws' "$out/err" | grep -o '[0-9]*' || echo 1)
    echo "$2 run $i: $(echo "$end - $start" | bc) s, $rows rows, ${draws:-1} draws"
  done
done
rm -rf "$out"
