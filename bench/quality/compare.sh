#!/bin/bash
# Test-set quality of promo's MLP beside XGBoost and a linear baseline on the two bundled
# real examples, on the same split and features. Every model's predictions are scored by
# bench/quality/quality.py, so the metrics come from one piece of code.
#
# Usage: bash bench/quality/compare.sh [PROMO_BINARY] [OUTDIR]
#   PROMO_BINARY  default build-examples-rel/promo (a Release build gives the timings)
#   OUTDIR        default: a new temporary folder; it keeps the splits, models and metrics
# Needs /usr/bin/python3 with scikit-learn and xgboost (Debian python3-sklearn,
# python3-xgboost). Takes a few minutes on 2 cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROMO=${1:-$ROOT/build-examples-rel/promo}
OUT=${2:-$(mktemp -d /tmp/promo-quality.XXXXXX)}
PY=/usr/bin/python3
QUALITY="$ROOT/bench/quality/quality.py"
SEEDS="1 2 3"
[ -x "$PROMO" ] || { echo "compare.sh: $PROMO is not an executable promo binary" >&2; exit 2; }

# run_promo EXAMPLE NAME TRAIN_OPTIONS...: train with each seed, predict test.csv, score.
run_promo() {
  local example=$1 name=$2
  shift 2
  local dir="$OUT/$example"
  for seed in $SEEDS; do
    local start end
    start=$(date +%s.%N)
    "$PROMO" --quiet --threads 2 train "$dir/train.csv" "$@" --seed "$seed" -o "$dir/m.promo"
    end=$(date +%s.%N)
    "$PROMO" --quiet --threads 2 predict "$dir/m.promo" "$dir/test.csv" -o "$dir/p.csv"
    "$PY" "$QUALITY" score "$example" "$dir" "promo $name seed $seed" "$dir/p.csv" \
      "$(echo "$end - $start" | bc)" "promo train $*"
  done
}

echo "promo: $PROMO ($("$PROMO" --version 2>&1 | head -n 1)); outputs in $OUT"

# Hillstrom: conversion (binary) from the customer columns and the e-mail sent. visit and
# spend are outcomes measured after the e-mail, so they are not features.
"$PY" "$QUALITY" split hillstrom "$OUT/hillstrom"
"$PY" "$QUALITY" baselines hillstrom "$OUT/hillstrom"
H=(--target conversion --ignore visit,spend --task binary)
run_promo hillstrom "defaults (10 epochs)" "${H[@]}"
run_promo hillstrom "30 epochs, patience 5" "${H[@]}" --epochs 30 --patience 5
run_promo hillstrom "30 epochs, batch 256" "${H[@]}" --epochs 30 --batch 256 --patience 10
run_promo hillstrom "30 epochs, lr 0.0003" "${H[@]}" --epochs 30 --lr 0.0003 --patience 10

# Orange juice: units = exp(logmove) (Poisson) from own price, all 11 prices, deal, feature,
# brand and store. The split script wrote units and price into the files.
"$PY" "$QUALITY" split oj "$OUT/oj"
"$PY" "$QUALITY" baselines oj "$OUT/oj"
J=(--target units --task poisson --ignore week,logmove,constant,profit
   --transform brand=onehot,store=onehot)
run_promo oj "defaults (10 epochs)" "${J[@]}"
run_promo oj "60 epochs, patience 10" "${J[@]}" --epochs 60 --patience 10
run_promo oj "60 epochs, lr 0.003" "${J[@]}" --epochs 60 --lr 0.003 --patience 10
run_promo oj "60 epochs, validation by week" "${J[@]}" --epochs 60 --patience 10 --valid-time week

"$PY" "$QUALITY" table "$OUT/hillstrom" "$OUT/oj"
