#!/usr/bin/env bash
# Command-line tests of `promo optimize`. Plans from candidates with their own values are
# checked against the brute-force optima in plan/expected.json (made by
# plan/make_fixtures.py), with limits, forbidden pairs and infeasible limits. Then plans
# come from a model, with offer texts and with column edits.
# Usage: optimize.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"
# The first number after "key": in a JSON file.
json_number() { grep -o "\"$2\": -\?[0-9.e+-]*" "$1" | head -1 | sed 's/.*: //'; }
expected() { json_number "$data/plan/expected.json" "$1"; }
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-6) }'; }
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b + 1e-6) }'; }
# Sum of a column (by header name) of a CSV without quoted commas.
column_sum() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                        { s += $c } END { printf "%.10g\n", s }' "$1"
}

cand="$data/plan/candidates.csv"
values=(--unit unit --value profit --cost spend)

# ---- candidates with values: exact equals brute force, fast stays within its bound ----
run 0 optimize "$cand" "${values[@]}" --budget 60 --exact -o "$work/p.csv" --json "$work/s.json"
check "exact equals brute force, budget 60" near "$(json_number "$work/s.json" value)" "$(expected budget_60)"
check "plan has 8 units" test "$(($(wc -l <"$work/p.csv") - 1))" = 8
check "plan header" test "$(head -1 "$work/p.csv")" = "unit,option,predicted,spend,value,baseline_value,value_gain"
check "plan spend within budget" at_most "$(column_sum "$work/p.csv" spend)" 60
check "plan value matches summary" near "$(column_sum "$work/p.csv" value)" "$(json_number "$work/s.json" value)"
check "summary names the solver" grep -qF '"solver": "exact"' "$work/s.json"
check "no-promotion baseline" near "$(grep -A1 '"none"' "$work/s.json" | json_number /dev/stdin value)" \
  "$(expected none_total)"
check "summary on stderr" err_has "plan: 8 units"

run 0 optimize "$cand" "${values[@]}" --budget 60 -o "$work/p.csv" --json "$work/s.json"
fast=$(json_number "$work/s.json" value)
bound=$(json_number "$work/s.json" bound)
check "fast value at most the optimum" at_most "$fast" "$(expected budget_60)"
check "fast bound at least the optimum" at_most "$(expected budget_60)" "$bound"
check "summary has same-option baselines" grep -qF '"same_option"' "$work/s.json"
check "summary has top units" grep -qF '"top_units"' "$work/s.json"

run 0 optimize "$cand" "${values[@]}" --budget 60 --group category --group-budget A=20 --exact \
  -o "$work/p.csv" --json "$work/s.json"
check "group budget: exact equals brute force" near "$(json_number "$work/s.json" value)" \
  "$(expected budget_60_group_A_20)"
check "plan has a group column" test "$(head -1 "$work/p.csv" | cut -d, -f2)" = group
check "group A spend within 20" at_most "$(awk -F, '$2 == "A" { s += $4 } END { print s + 0 }' "$work/p.csv")" 20
check "summary breaks down by group" grep -qF '"by_group"' "$work/s.json"

best=$(expected budget_80_max_promoted_3_slots_4)
for solver in exact fast; do
  flag=$([ "$solver" = exact ] && echo --exact)
  run 0 optimize "$cand" "${values[@]}" --budget 80 --max-promoted 3 --limit slots=4 $flag \
    -o "$work/p.csv" --json "$work/s.json"
  value=$(json_number "$work/s.json" value)
  check "three limits, $solver: value at most the optimum" at_most "$value" "$best"
  check "three limits, $solver: bound at least the optimum" at_most "$best" "$(json_number "$work/s.json" bound)"
  check "three limits, $solver: at most 3 promoted" at_most "$(awk -F, 'NR > 1 && $2 != "none"' "$work/p.csv" | wc -l)" 3
  check "three limits, $solver: slots within 4" at_most \
    "$(awk -F, 'NR > 1 && $2 == "9折" { s += 1 } NR > 1 && $2 == "8折" { s += 2 } END { print s + 0 }' "$work/p.csv")" 4
  [ "$solver" = exact ] && check "three limits: exact equals brute force" near "$value" "$best"
done

run 0 optimize "$cand" "${values[@]}" -o "$work/p.csv" --json "$work/s.json"
check "no limits: best option each" near "$(json_number "$work/s.json" value)" "$(expected no_limits)"
check "no limits: gap 0" grep -qF '"gap": 0.0' "$work/s.json"

run 0 optimize "$cand" "${values[@]}" --forbid "$data/plan/forbid.csv" -o "$work/p.csv"
check "forbidden pair not chosen" test -z "$(grep -F 's1,8折' "$work/p.csv")"
check "forbidden rows counted" err_has "forbidden by the forbid file"

run 0 optimize "$cand" "${values[@]}" --objective incremental_profit --budget 60 -o "$work/p.csv" \
  --json "$work/s.json"
check "incremental value is the gain" near "$(json_number "$work/s.json" value)" \
  "$(column_sum "$work/p.csv" value_gain)"

# ---- infeasible limits and usage errors ----
run 3 optimize "$cand" "${values[@]}" --limit slots=-1 -o "$work/failed.csv"
check "infeasible limit named" err_has "slots"
check "no plan for a failed run" test ! -e "$work/failed.csv"
run 2 optimize "$cand" "${values[@]}"
check "missing output reported" err_has "-o PLAN.csv"
run 2 optimize "$cand" --unit unit --value no_such -o "$work/x.csv"
check "unknown column named" err_has "no_such"
run 2 optimize "$cand" --value profit -o "$work/x.csv"
check "unit column required" err_has "--unit"
run 2 optimize "$cand" "${values[@]}" --options "none;8折" -o "$work/x.csv"
check "options need a model" err_has "--model"
run 2 optimize "$cand" "${values[@]}" --max-promoted 120% -o "$work/x.csv"
run 2 optimize "$cand" "${values[@]}" --group-budget 10 -o "$work/x.csv"
check "group limits need --group" err_has "--group"
run 2 optimize "$cand" "${values[@]}" -o "$cand"
check "output may not overwrite the input" test "$(head -1 "$cand")" = "unit,category,option,profit,spend,slots"
run 3 optimize "$data/plan/forbid.csv" --unit unit --value option -o "$work/x.csv"
check "non-numeric value located" err_has "forbid.csv:2:"

# ---- a model of units sold and offer texts ----
run 0 --threads 1 train "$data/plan/sales.csv" --target units --ignore item --layers 8 --epochs 10 --seed 3 \
  -o "$work/m.promo"
items="$data/plan/items.csv"
offers="none;9折;8折;满200减30;赠品:15"
run 0 optimize "$items" --model "$work/m.promo" --unit item --options "$offers" --unit-cost cost \
  --budget 400 --group category --stock stock -o "$work/p.csv" --json "$work/s.json"
check "one row per item" test "$(($(wc -l <"$work/p.csv") - 1))" = 40
check "options from the list" test -z "$(awk -F, 'NR > 1 && $3 !~ /^(none|9折|8折|满200减30|赠品:15)$/' "$work/p.csv")"
check "predictions positive" test -z "$(awk -F, 'NR > 1 && !($4 > 0)' "$work/p.csv")"
check "model plan within budget" at_most "$(column_sum "$work/p.csv" spend)" 400
check "baseline rows cost nothing" test -z "$(awk -F, 'NR > 1 && $3 == "none" && $5 != 0' "$work/p.csv")"
check "summary counts predicted units" test -n "$(grep -A3 '"none"' "$work/s.json" | json_number /dev/stdin units)"
fast=$(json_number "$work/s.json" value)
run 0 optimize "$items" --model "$work/m.promo" --unit item --options "$offers" --unit-cost cost \
  --budget 400 --group category --stock stock --exact -o "$work/p2.csv" --json "$work/s2.json"
check "exact at least the fast plan" at_most "$fast" "$(json_number "$work/s2.json" value)"

# Candidates file with the model: the same rows written out by hand, offers in a column.
awk -F, -v offers="$offers" 'BEGIN { n = split(offers, o, ";"); print "item,category,price,cost,stock,offer,option" }
  NR > 1 { for (k = 1; k <= n; k++) print $0 "," o[k] "," o[k] }' "$items" >"$work/cand.csv"
run 0 optimize "$work/cand.csv" --model "$work/m.promo" --unit item --unit-cost cost --budget 400 \
  --group category --stock stock -o "$work/p3.csv" --json "$work/s3.json"
check "candidates with a model give the same plan" near "$(json_number "$work/s3.json" value)" "$fast"

run 0 optimize "$items" --model "$work/m.promo" --unit item --options "none;8折" --unit-cost cost \
  --min-margin 40% -o "$work/p.csv"
check "margin rule leaves 8折 out" test -z "$(grep -F ',8折,' "$work/p.csv")"
check "margin rule counted" err_has "margin below the minimum"

run 0 optimize "$items" --model "$work/m.promo" --unit item \
  --options "none;cheaper: price*=0.8;9折: price+=-5" --objective units -o "$work/p.csv"
check "edit options planned" test "$(($(wc -l <"$work/p.csv") - 1))" = 40

run 2 optimize "$items" --model "$work/m.promo" --options "none;hello: colour=red" -o "$work/x.csv"
check "option changing no model input named" err_has "hello"
run 2 optimize "$items" --model "$work/m.promo" --options "none;8折;8折" -o "$work/x.csv"
check "repeated option named" err_has "twice"
run 2 optimize "$items" --model "$work/m.promo" --options "none;x: stock*=2" -o "$work/x.csv"
check "edit of a column the model does not read" err_has "changes no column the model reads"

# A candidate listed twice and a negative spend are mistakes in the file, named by line.
printf 'unit,option,value,spend\na,none,0,0\na,x,5,2\nb,none,0,0\na,x,6,3\n' >"$work/dup.csv"
run 3 optimize "$work/dup.csv" --unit unit --value value --cost spend --budget 3 -o "$work/x.csv"
check "repeated candidate named with its line" err_has "dup.csv:5: unit \"a\" has option \"x\" a second time"
printf 'unit,option,value,spend\na,none,0,0\na,x,5,-2\n' >"$work/neg.csv"
run 3 optimize "$work/neg.csv" --unit unit --value value --cost spend --budget 3 -o "$work/x.csv"
check "negative spend named with its cell" err_has "neg.csv:3:4:"
check "no plan from rejected candidates" test ! -e "$work/x.csv"

echo "optimize.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
