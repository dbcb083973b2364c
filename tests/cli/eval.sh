#!/usr/bin/env bash
# Command-line tests of `promo eval`, `promo cv` and the held-out test rows of
# `promo train`, on the first 2,000 rows of the Hillstrom e-mail campaign data.
# Usage: eval.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

sample="$data/response_sample.csv"
# spend and conversion are measured after the e-mail, so they would leak the target.
small=(--ignore spend,conversion --layers 8 --epochs 5 --seed 7)

# ---- promo train with held-out test rows
run 0 --threads 1 train "$sample" --target visit "${small[@]}" --test-split 0.2 -o "$work/m.promo" \
  --metrics "$work/m.json"
check "test rows reported apart" err_has "test (400 held-out rows)"
check "validation reported" err_has "validation:"
check "test metrics in the record" grep -qF '"test_metrics"' "$work/m.json"
check "test rows in the settings" grep -qF '"test_rows": 400' "$work/m.json"
run 0 --threads 1 train "$sample" --target visit "${small[@]}" --test-after 10 --test-time recency \
  -o "$work/t.promo"
check "time cut reported" err_has "held-out rows):"
run 2 train "$sample" --target visit -o "$work/x.promo" --test-after 10
check "--test-after needs a column" err_has "--test-time"
run 2 train "$sample" --target visit -o "$work/x.promo" --test-split 0.2 --test-after 10 --test-time recency
run 2 train "$sample" --target visit -o "$work/x.promo" --test-split 1
run 2 train "$sample" --target visit -o "$work/x.promo" --test-after 99 --test-time recency
check "empty test set explained" err_has "test set would be empty"
check "no model after a failed run" test ! -e "$work/x.promo"

# ---- promo eval
run 0 eval "$work/m.promo" "$sample" --json "$work/e.json" --group zip_code
check "table header" out_has "metric"
check "AUC printed" out_has "ROC AUC"
check "group AUC printed" out_has "mean AUC per group"
check "JSON has the AUC" grep -qF '"auc":' "$work/e.json"
check "JSON has the ROC curve" grep -qF '"roc":' "$work/e.json"
check "JSON names the task" grep -qF '"task": "binary"' "$work/e.json"
check "ten calibration bins" test "$(grep -c '"observed"' "$work/e.json")" = 10

run 0 eval "$work/m.promo" "$sample" --treatment womens --threshold 0.2
check "uplift metrics printed" out_has "Qini coefficient"
check "uplift in the top 10% printed" out_has "uplift in the top 10%"

# Only non-visitors: AUC is undefined, printed as such, and the reason is on stderr.
awk -F, 'NR == 1 || $10 == 0' "$sample" >"$work/negatives.csv"
run 0 eval "$work/m.promo" "$work/negatives.csv" --json "$work/neg.json"
check "undefined AUC printed" grep -qE '^ROC AUC +undefined$' "$work/out"
check "reason on stderr" err_has "auc and pr_auc are undefined"
check "null in JSON" grep -qF '"auc": null' "$work/neg.json"

# A model input missing from the test file; recency is the first, unquoted column.
sed 's/^[^,]*,//' "$sample" >"$work/no_recency.csv"
run 3 eval "$work/m.promo" "$work/no_recency.csv"
check "missing input named" err_has "recency"
run 2 eval "$work/m.promo" "$sample" --target no_such_column
check "missing target named" err_has "no_such_column"
run 2 eval "$work/m.promo" "$sample" --group no_such_column
# A target the binary model cannot be scored against.
run 3 eval "$work/m.promo" "$sample" --target history
check "bad target row located" err_has "response_sample.csv:2"

head -c 100 "$work/m.promo" >"$work/truncated.promo"
run 3 eval "$work/truncated.promo" "$sample"
check "truncated model reported" err_has "truncated"
run 3 eval "$sample" "$sample"
run 2 eval "$work/m.promo"
run 2 eval "$work/m.promo" "$sample" --threshold 0
run 2 eval "$work/m.promo" "$sample" --bogus
run 2 eval "$work/m.promo" "$sample" --json "$sample"

# ---- promo cv
run 0 --threads 1 cv "$sample" --target visit "${small[@]}" --folds 3 --stratify --json "$work/cv.json"
check "fold columns printed" out_has "fold 3"
check "mean and deviation printed" out_has "mean ± std"
check "AUC row has a mean" grep -qE '^ROC AUC .* ± ' "$work/out"
check "three folds in JSON" test "$(grep -c '"fold":' "$work/cv.json")" = 3
tested=$(grep -o '"test_rows": [0-9]*' "$work/cv.json" | awk '{ s += $2 } END { print s }')
check "every row tested once ($tested)" test "$tested" = 2000
check "split kind in JSON" grep -qF '"kind": "stratified"' "$work/cv.json"
check "sample deviation in JSON" grep -qF '"std":' "$work/cv.json"

run 0 --threads 1 cv "$sample" --target visit "${small[@]}" --folds 3 --group zip_code
run 0 --threads 1 cv "$sample" --target spend "${small[@]}" --folds 2 --time recency --valid 0.2 --patience 2
check "regression metrics printed" out_has "RMSE"

run 2 cv "$sample" --target visit --group no_such_column
check "missing group column named" err_has "no_such_column"
run 2 cv "$sample" --target no_such_column
run 2 cv "$sample" --target visit --stratify --time recency
run 2 cv "$sample" --target spend --stratify
run 2 cv "$sample" --target visit --folds 1
run 2 cv "$sample" --target visit --patience 3
run 2 cv "$sample" --target visit --json "$sample"
run 2 cv --target visit
run 3 cv "$sample" --target history_segment
head -5 "$sample" >"$work/five.csv"
run 3 cv "$work/five.csv" --target visit --folds 10
check "too few rows explained" err_has "10 folds"

echo "eval.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
