#!/usr/bin/env bash
# Command-line tests of `promo features`: fitting, saving and reapplying a pipeline,
# window features from an event log, offer rejects and errors for missing columns.
# Usage: features.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

# Fit, save, and apply the saved pipeline to the same rows: the matrices are identical.
run 0 features "$data/transactions_500.csv" -o "$work/m1.csv" --save-pipeline "$work/p.json" --id basket_id
check "matrix written" test -s "$work/m1.csv"
check "id column first" test "$(head -1 "$work/m1.csv" | cut -d, -f1)" = basket_id
check "500 data rows" test "$(($(wc -l <"$work/m1.csv") - 1))" = 500
run 0 features "$data/transactions_500.csv" --pipeline "$work/p.json" -o "$work/m2.csv" --id basket_id
check "saved pipeline gives same matrix" cmp -s "$work/m1.csv" "$work/m2.csv"

# A column the pipeline needs is missing at prediction time.
cut -d, -f1-4,6- "$data/transactions_500.csv" >"$work/no_quantity.csv"
run 3 features "$work/no_quantity.csv" --pipeline "$work/p.json" -o "$work/m3.csv"
check "missing column named" err_has "quantity"
check "no matrix on error" test ! -e "$work/m3.csv"

# --describe lists each output with its source.
run 0 features "$data/transactions_500.csv" --describe
check "describe lists a time feature" grep -q "transaction_timestamp_day_of_week" "$work/out"

# Window features from the event log fixture.
run 0 features "$data/window/rows.csv" --events "$data/window/events.csv" \
  --window count:buy:7d@user_id --window recency:buy@user_id --row-key user_id=uid \
  --event-time event_time --event-type action --row-time ts -o "$work/w.csv"
check "window column named" grep -q "user_id_buy_count_7d" "$work/w.csv"
run 2 features "$data/window/rows.csv" --window count:buy:7d@user_id -o "$work/w2.csv"
check "window without events explained" err_has "--events"
run 2 features "$data/window/rows.csv" --events "$data/window/events.csv" --window count:buy:7m@user_id \
  --event-time event_time --event-type action --row-time ts -o "$work/w3.csv"

# Offer text: unparsed texts are flagged by default, or left out with --bad-offer reject.
run 0 features "$data/offers_sample.csv" --transform offer=offer -o "$work/o.csv"
check "offer depth column" grep -q "offer_depth" "$work/o.csv"
run 0 features "$data/offers_sample.csv" --transform offer=offer --bad-offer reject \
  -o "$work/o2.csv" --rejects "$work/o_rejects.csv"
check "rejected rows listed" test "$(($(wc -l <"$work/o_rejects.csv") - 1))" = 4
check "rejected rows left out" test "$(($(wc -l <"$work/o.csv") - $(wc -l <"$work/o2.csv")))" = 4

# Usage errors.
run 2 features "$data/transactions_500.csv"
run 2 features "$data/transactions_500.csv" -o "$work/x.csv" --transform quantity=squash
check "unknown transform named" err_has "squash"
run 2 features "$data/transactions_500.csv" -o "$work/x.csv" --target no_such_column

echo "features.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
