#!/usr/bin/env bash
# Command-line tests of `promo run`: a small project over the first 2,000 rows of the
# Hillstrom e-mail campaign runs every stage, resumes with --from, stops at a failing
# stage keeping earlier files, and names the key and line of project-file mistakes.
# Usage: run.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

mkdir -p "$work/project"
cp "$data/response_sample.csv" "$work/project/customers.csv"
cat >"$work/project/project.yaml" <<'YAML'
name: e-mail test
sources:
  data: customers.csv
clean:
  duplicates: false
features:
  ignore: [conversion, spend]
model:
  target: visit
  layers: [16]
  epochs: 5
  batch: 64
  seed: 7
evaluation:
  folds: 3
  test: 0.25
plan:
  units: test
  options:
    - name: none
      set: {segment: No E-Mail}
    - name: mens
      set: {segment: Mens E-Mail}
    - name: womens
      set: {segment: Womens E-Mail}
  objective: incremental_revenue
  order_value: 20
  fee: 0.1
  budget: 20
YAML

# The whole run; one thread, so results are the same on every machine.
run 0 --threads 1 run "$work/project/project.yaml" -o "$work/out1"
for f in cleaned.csv rejects.csv quality.json model.promo metrics.json predictions.csv plan_units.csv \
  plan.csv plan.json report.json report.html; do
  check "run wrote $f" test -s "$work/out1/$f"
done
check "each stage is printed with its time" err_has "[5/5]"
check "2000 rows accounted for" grep -qF '"rows_in": 2000' "$work/out1/report.json"
check "500 test predictions" test "$(($(wc -l <"$work/out1/predictions.csv") - 1))" = 500
check "cross-validation has 3 folds" test "$(grep -c '"fold":' "$work/out1/metrics.json")" = 3
check "test auc reported" grep -qF '"auc"' "$work/out1/metrics.json"
check "one plan row per test unit" test "$(($(wc -l <"$work/out1/plan.csv") - 1))" = 500
spend=$(grep -o '"budget": [0-9.e+-]*' "$work/out1/plan.json" | head -1 | cut -d' ' -f2)
check "plan spend within the budget (spent $spend)" awk -v s="$spend" 'BEGIN { exit !(s <= 20 + 1e-9) }'
check "report has the plan" grep -qF 'data-chart=' "$work/out1/report.html"
check "report needs no network" bash -c "! grep -qE '(src|href)=\"https?:' '$work/out1/report.html'"

# Resuming at the plan reuses the model and gives the same plan.
cp "$work/out1/plan.csv" "$work/plan_first.csv"
run 0 --threads 1 run "$work/project/project.yaml" -o "$work/out1" --from plan
check "resumed run starts at the plan" bash -c "! grep -qF '[1/5]' '$work/err'"
check "same plan after resuming" cmp -s "$work/plan_first.csv" "$work/out1/plan.csv"

# Resuming after the project changed warns that earlier outputs may not match it.
sed 's/epochs: 5/epochs: 4/' "$work/project/project.yaml" >"$work/project/changed.yaml"
run 0 --threads 1 run "$work/project/project.yaml" -o "$work/out1" --from report
check "unchanged project resumes quietly" bash -c "! grep -qF 'changed since' '$work/err'"
cp "$work/project/project.yaml" "$work/project/project.yaml.orig"
cp "$work/project/changed.yaml" "$work/project/project.yaml"
run 0 --threads 1 run "$work/project/project.yaml" -o "$work/out1" --from report
check "changed project named on resume" err_has "changed since the earlier stages"
cp "$work/project/project.yaml.orig" "$work/project/project.yaml"

# Resuming in an empty folder names what is missing.
run 2 run "$work/project/project.yaml" -o "$work/empty" --from evaluate
check "missing earlier stage is named" err_has "run the earlier stages first"

# A failing stage stops the run and keeps what earlier stages wrote.
# (a money objective with no order value fails only when the plan is computed)
sed '/order_value: 20/d' "$work/project/project.yaml" >"$work/project/broken.yaml"
"$promo" --threads 1 run "$work/project/broken.yaml" -o "$work/out2" >"$work/out" 2>"$work/err"
rc=$?
check "failing plan exits non-zero (got $rc)" test "$rc" -ne 0
check "failing stage is named" err_has "plan"
check "model kept after a failed plan" test -s "$work/out2/model.promo"
check "no plan file from the failed stage" test ! -e "$work/out2/plan.csv"

# Columns the project names are checked before any stage writes.
sed 's/target: visit/target: visits/' "$work/project/project.yaml" >"$work/project/target.yaml"
run 3 run "$work/project/target.yaml" -o "$work/out5"
check "unknown target named with the data's columns" err_has "'model.target' names column 'visits'"
check "nothing cleaned for a wrong target" test ! -e "$work/out5/cleaned.csv"
sed 's/order_value: 20/order_value: 20\n  unit_cost: no_such_column/' "$work/project/project.yaml" \
  >"$work/project/cost.yaml"
run 3 run "$work/project/cost.yaml" -o "$work/out5"
check "unknown economics column named" err_has "'plan.unit_cost' names column 'no_such_column'"

sed 's/  ignore: \[conversion, spend\]/  ignore: [conversion, spend]\n  transforms: {zipcode: onehot}/' \
  "$work/project/project.yaml" >"$work/project/rule.yaml"
run 3 run "$work/project/rule.yaml" -o "$work/out5"
check "unknown transform column named" err_has "'features.transforms' names column 'zipcode'"
sed 's/  duplicates: false/  keys: [customer]/' "$work/project/project.yaml" >"$work/project/keys.yaml"
run 3 run "$work/project/keys.yaml" -o "$work/out5"
check "unknown clean key named" err_has "'clean.keys' names column 'customer'"
sed 's/objective: incremental_revenue/objective: incremental_revnue/' "$work/project/project.yaml" \
  >"$work/project/objective.yaml"
run 3 run "$work/project/objective.yaml" -o "$work/out5"
check "misspelt objective named before training" err_has "'incremental_revnue'"
sed 's/  data: customers.csv/  data: customers.csv\n  calendar: holidays.csv/' "$work/project/project.yaml" \
  >"$work/project/calendar.yaml"
run 1 run "$work/project/calendar.yaml" -o "$work/out5"
check "missing calendar file named" err_has "holidays.csv"
check "nothing written before the checks pass" test ! -e "$work/out5/cleaned.csv"

# Outputs never replace inputs; missing parent folders are created.
mkdir -p "$work/same"
cp "$data/response_sample.csv" "$work/same/plan_units.csv"
sed 's/data: customers.csv/data: plan_units.csv/' "$work/project/project.yaml" >"$work/same/project.yaml"
sum_before=$(cksum <"$work/same/plan_units.csv")
run 2 run "$work/same/project.yaml" -o "$work/same"
check "data named like an output is refused" err_has "would overwrite the project's input"
check "data left unchanged" test "$(cksum <"$work/same/plan_units.csv")" = "$sum_before"
cp "$work/project/project.yaml" "$work/same/report.json"
run 2 run "$work/same/report.json" -o "$work/same"
check "project file named like an output is refused" err_has "would overwrite the project's input"
run 0 --threads 1 run "$work/project/project.yaml" -o "$work/deep/er/out" --from clean
check "nested output folder created" test -s "$work/deep/er/out/report.html"

# An option's edits reach the model through derived columns. The model reads history
# only as history_k, so doubling history must double history_k and move the prediction.
mkdir -p "$work/derive"
cp "$data/response_sample.csv" "$work/derive/customers.csv"
cat >"$work/derive/project.yaml" <<'YAML'
sources:
  data: customers.csv
clean:
  duplicates: false
derive:
  history_k: history / 1000
features:
  ignore: [conversion, spend, history]
model:
  target: visit
  layers: [8]
  epochs: 3
  seed: 7
evaluation:
  folds: 0
  test: 0.25
plan:
  units: test
  options:
    - none
    - name: double
      set: {history: '*2'}
  objective: incremental_units
YAML
run 0 --threads 1 run "$work/derive/project.yaml" -o "$work/derive/out"
means=$(grep -o '"mean_prediction": [0-9.e+-]*' "$work/derive/out/plan.json" | cut -d' ' -f2 | tr '\n' ' ')
check "edited column changes a derived input (means: $means)" \
  awk -v m="$means" 'BEGIN { split(m, v, " "); exit !(v[1] != v[2]) }'

# A lookup table joins its columns onto the data by a key before training.
printf 'area,area_income\nSurburban,3.1\nRural,2.2\n' >"$work/derive/areas.csv"
sed 's/  data: customers.csv/  data: customers.csv\n  lookups:\n    - {path: areas.csv, key: area, data_key: zip_code}/' \
  "$work/derive/project.yaml" >"$work/derive/lookup.yaml"
run 0 --threads 1 run "$work/derive/lookup.yaml" -o "$work/derive/lookup"
check "rows without a match are counted" err_has "rows found no match"
run 0 inspect "$work/derive/lookup/model.promo"
check "joined column is a model input" grep -qF "area_income" "$work/out"
sed 's/key: area,/key: region,/' "$work/derive/lookup.yaml" >"$work/derive/badlookup.yaml"
run 3 run "$work/derive/badlookup.yaml" -o "$work/derive/badlookup"
check "missing lookup key named" err_has "lookup key 'region' is not a column of"
printf 'area,area_income\nRural,2.2\nRural,2.5\n' >"$work/derive/areas.csv"
run 3 run "$work/derive/lookup.yaml" -o "$work/derive/duplookup"
check "duplicate lookup key named with its line" err_has "areas.csv:3:1: key 'Rural' appears on more than one row"

# evaluation.seed keeps the test rows when only model.seed changes.
for seed in 7 8; do
  sed "s/  seed: 7/  seed: $seed/; s/  test: 0.25/  test: 0.25\n  seed: 3/" "$work/derive/project.yaml" \
    >"$work/derive/seed$seed.yaml"
  run 0 --threads 1 run "$work/derive/seed$seed.yaml" -o "$work/derive/seed$seed"
  cut -d, -f1 "$work/derive/seed$seed/predictions.csv" >"$work/derive/lines$seed"
done
check "same test rows for another model seed" cmp -s "$work/derive/lines7" "$work/derive/lines8"

# Window features over a behavior log become columns of the data before training.
mkdir -p "$work/win"
awk -F, 'NR == 1 { print $0 ",bought"; next } { print $0 "," (NR % 3 == 0) }' "$data/window/rows.csv" \
  >"$work/win/rows.csv"
cp "$data/window/events.csv" "$work/win/events.csv"
cat >"$work/win/project.yaml" <<'YAML'
sources:
  data: rows.csv
  events: events.csv
features:
  id: uid
  windows: [count:buy:7d@user_id, recency:buy@user_id, sum:amount:buy:3d@user_id]
  event_time: event_time
  event_type: action
  row_time: ts
  row_keys: {user_id: uid}
model:
  target: bought
  layers: [4]
  epochs: 2
evaluation:
  folds: 0
  test: 0.3
YAML
run 0 --threads 1 run "$work/win/project.yaml" -o "$work/win/out"
run 0 inspect "$work/win/out/model.promo"
check "window count is a model input" grep -qF "user_id_buy_count_7d" "$work/out"
check "window sum is a model input" grep -qF "user_id_buy_amount_sum_3d" "$work/out"
sed 's/count:buy:7d/amount:sum:buy:3d/' "$work/win/project.yaml" >"$work/win/bad.yaml"
run 3 run "$work/win/bad.yaml" -o "$work/win/out2"
check "bad window spec named before any stage" err_has "features.windows 'amount:sum:buy:3d@user_id'"
check "nothing written for a bad window spec" test ! -e "$work/win/out2/cleaned.csv"

# Project-file mistakes name the key and the line.
printf 'sources:\n  data: customers.csv\nmodel:\n  target: visit\n  epoch: 3\n' >"$work/project/typo.yaml"
run 3 run "$work/project/typo.yaml" -o "$work/out3"
check "unknown key named with line" err_has "typo.yaml:5:3: unknown key 'epoch' in 'model'"
printf 'sources:\n  data: customers.csv\nmodel:\n  target: visit\n  layers: [16, many]\n' >"$work/project/type.yaml"
run 3 run "$work/project/type.yaml" -o "$work/out3"
check "wrong type named with line" err_has "type.yaml:5:16:"
printf 'sources:\n  data: nowhere.csv\nmodel:\n  target: visit\n' >"$work/project/nodata.yaml"
run 1 run "$work/project/nodata.yaml" -o "$work/out3"
check "missing data file named" err_has "nowhere.csv"
printf 'sources:\n  data: customers.csv\nderive:\n  x: log(nonexistent)\nmodel:\n  target: visit\n' \
  >"$work/project/derive.yaml"
"$promo" run "$work/project/derive.yaml" -o "$work/out4" >"$work/out" 2>"$work/err"
check "bad derived column names the project line" err_has "derive.yaml:4:"
run 2 run
check "no project is a usage error" err_has "promo run PROJECT.yaml"
run 2 run "$work/project/project.yaml" --from predict
check "bad --from named" err_has "--from 'predict'"

# Chinese messages.
run 3 --lang zh run "$work/project/typo.yaml" -o "$work/out3"
check "Chinese error for an unknown key" err_has "未知的键"

echo "run.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
