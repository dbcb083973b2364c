#!/bin/bash
# Test-set quality of `promo run` beside XGBoost and a linear model on the bundled real
# examples and on dunnhumby's Breakfast at the Frat, on promo run's own split. The test rows
# are those promo run wrote into predictions.csv, and every other row of cleaned.csv trains
# the baselines. All models, promo's predictions included, are scored by
# bench/quality/compare_run.py.
#
# Usage: bash bench/quality/compare_run.sh [PROMO_BINARY] [OUTDIR]
#   PROMO_BINARY  default build-quality/promo (a Release build)
#   OUTDIR        default: a new temporary folder; it keeps every run and its scores
# Environment:
#   SEEDS          model seeds, default "1 2 3" (the seed also draws Hillstrom's test rows)
#   EXAMPLES       default "hillstrom dominicks-oj"; add "frat" for bench/quality/frat/project.yaml
#   FRAT_DATA      folder of the Breakfast at the Frat data set (not in the repository),
#                  default ../shared/data/dunnhumby-breakfast-at-the-frat beside the repository;
#                  its transactions.csv is linked into OUTDIR/frat beside the project copy
#   CACHE          folder for the baselines' scores, default OUTDIR/cache (they depend only
#                  on the split and the seed, so runs that change promo's settings can share it)
#   HILLSTROM_SET, DOMINICKS_OJ_SET, FRAT_SET
#                  model settings to change, e.g. "epochs=30 patience=5 batch=512"
# Each run uses a copy of the project file with 'folds: 0' (no cross-validation) and the
# seed and settings above, written beside the original (its paths are relative to it) and
# removed afterwards; for frat, the copy is written into OUTDIR/frat beside the link to the
# data. The plan stage may fail; the script needs only the files of the
# clean, train and evaluate stages. Needs /usr/bin/python3 with scikit-learn, xgboost and
# yaml (Debian python3-sklearn, python3-xgboost, python3-yaml).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROMO=${1:-$ROOT/build-quality/promo}
OUT=${2:-$(mktemp -d /tmp/promo-quality.XXXXXX)}
PY=/usr/bin/python3
SCRIPT="$ROOT/bench/quality/compare_run.py"
SEEDS=${SEEDS:-1 2 3}
EXAMPLES=${EXAMPLES:-hillstrom dominicks-oj}
CACHE=${CACHE:-$OUT/cache}
FRAT_DATA=${FRAT_DATA:-$ROOT/../shared/data/dunnhumby-breakfast-at-the-frat}
[ -x "$PROMO" ] || { echo "compare_run.sh: $PROMO is not an executable promo binary" >&2; exit 2; }
mkdir -p "$OUT"

COPY=""
trap '[ -n "$COPY" ] && rm -f "$COPY"' EXIT

echo "promo: $PROMO ($("$PROMO" --version 2>&1 | head -n 1)); outputs in $OUT"
scores=()
for example in $EXAMPLES; do
  var=$(echo "$example" | tr 'a-z-' 'A-Z_')_SET
  settings=${!var:-}
  if [ "$example" = frat ]; then
    # The data stays outside the repository: the project copy goes beside a link to it.
    src="$ROOT/bench/quality/frat/project.yaml"
    dir="$OUT/frat"
    if [ ! -f "$FRAT_DATA/transactions.csv" ]; then
      echo "compare_run.sh: $FRAT_DATA/transactions.csv not found; set FRAT_DATA to the Breakfast at the Frat folder" >&2
      exit 1
    fi
    mkdir -p "$dir"
    ln -sf "$(cd "$FRAT_DATA" && pwd)/transactions.csv" "$dir/transactions.csv"
  else
    src="$ROOT/examples/$example/project.yaml"
    dir="$ROOT/examples/$example"
  fi
  for seed in $SEEDS; do
    COPY="$dir/.compare_run.$$.yaml"
    # shellcheck disable=SC2086
    "$PY" "$SCRIPT" project "$src" "$COPY" seed="$seed" $settings || exit 1
    run="$OUT/$example-seed$seed"
    rm -rf "$run"
    start=$(date +%s.%N)
    "$PROMO" --threads 2 run "$COPY" -o "$run" >"$run.log" 2>&1
    end=$(date +%s.%N)
    if [ ! -s "$run/predictions.csv" ]; then
      echo "compare_run.sh: promo run $example (seed $seed) wrote no predictions.csv; see $run.log" >&2
      exit 1
    fi
    echo "$example seed $seed: promo run took $(echo "$end - $start" | bc) s ($(grep -c 'epoch=' "$run.log") epochs) ${settings:+with $settings}"
    "$PY" "$SCRIPT" score "$COPY" "$run" "$run.json" "$CACHE" || exit 1
    rm -f "$COPY"
    COPY=""
    scores+=("$run.json")
  done
done
"$PY" "$SCRIPT" table "${scores[@]}"
