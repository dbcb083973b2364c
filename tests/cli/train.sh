#!/usr/bin/env bash
# Command-line tests of `promo train`, `promo predict` and `promo inspect` on the first
# 2,000 rows of the Hillstrom e-mail campaign data, with target `visit`.
# Usage: train.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

sample="$data/response_sample.csv"
# spend and conversion are outcomes measured after the e-mail, so they would leak the target.
# One thread, so the weights and the AUC are the same on every machine.
run 0 --threads 1 train "$sample" --target visit --ignore spend,conversion --layers 8 --epochs 20 \
  --seed 7 -o "$work/m.promo" --metrics "$work/m.json"
check "model file written" test -s "$work/m.promo"
check "summary on stderr" err_has "auc="
auc=$(grep -o '"auc": [0-9.]*' "$work/m.json" | cut -d' ' -f2)
check "metrics name the task" grep -qF '"task": "binary"' "$work/m.json"
check "validation auc above 0.55 (got $auc)" awk -v a="$auc" 'BEGIN { exit !(a > 0.55) }'
check "history has rows_per_s" grep -qF '"rows_per_s"' "$work/m.json"

run 0 predict "$work/m.promo" "$sample" -o "$work/p.csv" --id recency
check "header is id then prediction" test "$(head -1 "$work/p.csv")" = "recency,prediction"
check "2000 predictions" test "$(($(wc -l <"$work/p.csv") - 1))" = 2000
check "predictions are probabilities in (0, 1)" \
  awk -F, 'NR > 1 && !($2 > 0 && $2 < 1) { bad = 1 } END { exit bad }' "$work/p.csv"
check "expected positives reported" err_has "2000 rows predicted"

run 0 inspect "$work/m.promo"
check "inspect prints the layers" out_has "dense 8 (relu) -> output 1"
check "inspect prints an input column" out_has "history_segment"
check "inspect prints the metrics" out_has "auc"

# A feature column missing at prediction time; recency is the first, unquoted column.
sed 's/^[^,]*,//' "$sample" >"$work/no_recency.csv"
run 3 predict "$work/m.promo" "$work/no_recency.csv" -o "$work/p2.csv"
check "missing column named" err_has "recency"
check "no output for a failed run" test ! -e "$work/p2.csv"

head -c 100 "$work/m.promo" >"$work/truncated.promo"
run 3 predict "$work/truncated.promo" "$sample" -o "$work/p3.csv"
check "truncated file reported" err_has "truncated"
run 3 inspect "$work/truncated.promo"

# Usage errors.
run 2 train "$sample" -o "$work/x.promo"
check "missing target reported" err_has "--target"
run 2 train "$sample" --target visit
run 2 train "$sample" --target visit -o "$work/x.promo" --epochs 0
run 2 train "$sample" --target visit -o "$work/x.promo" --task ranking
run 2 train "$sample" --target no_such_column -o "$work/x.promo"
run 2 train "$sample" --target visit -o "$sample"
run 2 predict "$work/m.promo" "$sample"
run 2 predict "$work/m.promo" "$sample" -o "$work/x.csv" --id no_such_column
run 2 inspect
run 2 inspect "$work/m.promo" --bogus
check "no model written on usage errors" test ! -e "$work/x.promo"

# A target with other values than 0 and 1 cannot be binary.
run 3 train "$sample" --target history --task binary --ignore spend,conversion -o "$work/x.promo"
check "binary target error names column" err_has "'history'"

# --valid-time holds out the latest rows by a column; the metrics record the split.
run 0 train "$sample" --target visit --ignore spend,conversion --valid-time recency --epochs 2 \
  -o "$work/t.promo" --metrics "$work/t.json"
check "time split recorded" grep -q '"valid_split": "latest by time"' "$work/t.json"
run 2 train "$sample" --target visit --valid-time segment -o "$work/t2.promo"
check "text time column explained" err_has "segment"

# Index-encoded columns feed embeddings, and the model still predicts.
run 0 train "$sample" --target visit --ignore spend,conversion --transform zip_code=index,channel=index \
  --epochs 2 -o "$work/e.promo"
check "embedding logged" err_has "embedding for 'zip_code'"
run 0 predict "$work/e.promo" "$sample" -o "$work/e.csv"
check "embedding model predicts every row" test "$(($(wc -l <"$work/e.csv") - 1))" = 2000

echo "train.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
