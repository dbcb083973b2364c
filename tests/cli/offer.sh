#!/usr/bin/env bash
# Command-line tests of `promo offer`: readable lines, JSON, --price, the --file column
# check on offers_sample.csv, exit codes and messages.
# Usage: offer.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

# run EXPECTED_RC ARGS... : runs promo with English messages, keeps stdout in $work/out
# and stderr in $work/err, and checks the exit code.
run() {
  local expected=$1
  shift
  "$promo" --lang en "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$expected" ]; then
    echo "FAIL: promo $* exited $rc, expected $expected; stderr:" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
    return 1
  fi
  passes=$((passes + 1))
}

# expect WHERE TEXT : WHERE is out or err; TEXT must occur in that output.
expect() {
  if grep -qF -- "$2" "$work/$1"; then
    passes=$((passes + 1))
  else
    echo "FAIL: std$1 lacks '$2'; it was:" >&2
    cat "$work/$1" >&2
    failures=$((failures + 1))
  fi
}

# expect_lines WHERE N : WHERE has exactly N lines.
expect_lines() {
  local n
  n=$(wc -l <"$work/$1")
  if [ "$n" -eq "$2" ]; then
    passes=$((passes + 1))
  else
    echo "FAIL: std$1 has $n lines, expected $2" >&2
    failures=$((failures + 1))
  fi
}

# Readable lines, one per text.
run 0 offer 满200减30 '8折 + 赠品' 买一送一 包邮 -
expect out '满200减30  ->  threshold off: spend 200, save 30'
expect out '8折 + 赠品  ->  percent off: 20% off (pays 80%); gift'
expect out '买一送一  ->  multi-buy: buy 1, get 1 free'
expect out '包邮  ->  free shipping'
expect out '-  ->  no offer'
expect_lines out 5

# Texts that start with '-' are texts, not options.
run 0 offer -20%
expect out '-20%  ->  percent off: 20% off (pays 80%)'

# --price and --quantity.
run 0 offer --price 250 满200减30 每满100减10
expect out 'pays 0.88 of the list price'
expect out 'pays 0.92 of the list price'
run 0 offer --price 100 --quantity 2 买一送一
expect out '[price 100 x 2: pays 0.5 of the list price]'

# JSON: one object per text, with parts for a combined text.
run 0 offer --json 满200减30+包邮 8折
expect_lines out 2
expect out '{"text":"满200减30+包邮","kind":"combined","parts":[{"kind":"threshold_off","text":"满200减30","threshold":200.0,"amount":30.0'
expect out '{"kind":"free_shipping","text":"包邮"'
expect out '{"text":"8折","kind":"percent_off","threshold":0.0,"amount":0.0,"rate":0.8,'
run 0 offer --json --price 250 满200减30
expect out '"effective_rate":0.88'
if [ -x /usr/bin/python3 ]; then
  run 0 offer --json 满200减30+包邮 赠品:15 买2送1
  if /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$work/out"; then
    passes=$((passes + 1))
  else
    echo "FAIL: --json output is not one JSON object per line" >&2
    failures=$((failures + 1))
  fi
fi

# A text that does not parse: exit 3, the others still printed.
run 3 offer 8折 12折 满100减200
expect out '8折  ->  percent off'
expect err "promo: invalid offer '12折': 12折 is not a discount"
expect err "promo: invalid offer '满100减200': saving 200 is not below the threshold 100"
run 3 offer --json 大促
expect out '"text":"大促","error":"invalid offer'

# Invalid UTF-8 in a TEXT still gives valid JSON: U+FFFD in place of the bad byte in
# "text", and the byte escaped as \xFF in the message.
run 3 offer --json $'8\xff折'
expect out '{"text":"8�折","error":"invalid offer '"'"'8\\xFF折'"'"': invalid UTF-8 at byte 2"}'

# Messages quote the whole text once, with a newline escaped, and name the piece at
# fault on its own.
run 3 offer $'8折\n大促' 'abc abc' '1e308折' 券后价99
expect err "promo: invalid offer '8折\\n大促': '大促' is not an offer form promo reads"
expect err "promo: invalid offer 'abc abc': no offer form promo reads matches it"
expect err "promo: invalid offer '1e308折': '1e308' is not a number promo reads"
expect err "promo: invalid offer '券后价99': a fixed price"
expect_lines err 4

# Two offers of one price-changing kind are rejected; tiers and a coupon beside a shop
# discount are not.
run 3 offer --price 100 --quantity 2 '买一送一 第二件半价' 8折8折 满200减30,满200减50
expect err "promo: invalid offer '买一送一 第二件半价': '买一送一' and '第二件半价' are both multi-buy offers, which promo does not stack; keep one"
expect err "promo: invalid offer '8折8折': '8折' and '8折' are both percent-off offers"
expect err "'满200减30' and '满200减50' are threshold-off tiers with the same threshold"
expect_lines out 0
run 0 offer --price 100 --quantity 3 2件8折,3件7折 满200打8折,满300打7折 立减10元+5元券
expect out '2件8折,3件7折  ->  multi-buy: buy 2 or more, each pays 80%; multi-buy: buy 3 or more, each pays 70%  [price 100 x 3: pays 0.7 of the list price]'
expect out '满200打8折,满300打7折  ->  percent off: spend 200, 20% off (pays 80%); percent off: spend 300, 30% off (pays 70%)  [price 100 x 3: pays 0.7 of the list price]'
expect out '[price 100 x 3: pays 0.85 of the list price]'

# Usage errors exit 2.
run 2 offer --bogus 8折
expect err "unknown option '--bogus'"
expect err "Run 'promo help offer' for the options."
run 2 offer
run 2 offer --file "$data/offers_sample.csv"
expect err '--file needs --column'
run 2 offer --column offer 8折
expect err '--column works only with --file'
run 2 offer --file "$data/offers_sample.csv" --column nope
expect err "column 'nope' not found in $data/offers_sample.csv; its columns are: sku, offer, start_date"
run 2 offer --price abc 8折
expect err "invalid --price 'abc'"
run 2 offer --price 0 8折
run 2 offer --quantity 2 8折
expect err '--quantity needs --price'
run 2 offer --file "$data/offers_sample.csv" --column offer 8折
run 2 offer --price
expect err 'option --price needs a value'
run 2 offer --replace-invalid 8折
expect err '--replace-invalid works only with --file'
run 2 offer --encoding gb18030 8折
expect err '--encoding works only with --file'
run 2 offer --file "$data/offers_sample.csv" --column offer --encoding latin1
expect err "unknown --encoding 'latin1'"

# Help.
run 0 offer --help
expect out 'Usage: promo offer'
expect out '--column COL'
run 0 help offer
expect out '--file FILE'

# --file: counts by kind, every failed text with its line, exit 3.
run 3 -q offer --file "$data/offers_sample.csv" --column offer
expect out 'offers_sample.csv, column offer: 30 rows, 26 parsed, 4 failed'
expect out '  no offer                          3'
expect out '  percent off                       4'
expect out '  threshold off                     3'
expect out '  multi-buy                         4'
expect out '  flash sale                        3'
expect out '  combined                          2'
expect err "offers_sample.csv:16: invalid offer '12折'"
expect err "offers_sample.csv:20: invalid offer '满100减200'"
expect err "offers_sample.csv:24: invalid offer '大促狂欢'"
expect err "offers_sample.csv:28: invalid offer '99元': a fixed price"
expect_lines err 4

# The same column by number, as JSON.
run 3 -q offer --file "$data/offers_sample.csv" --column 2 --json
expect_lines out 1
expect out '"column":"offer","rows":30,"parsed":26,"failed":4'
expect out '"counts":{"none":3,"percent_off":4,"amount_off":2,"threshold_off":3,"repeated_off":1,"multi_buy":4,"gift":1,"free_shipping":3,"flash_sale":3,"combined":2}'
expect out '{"line":16,"text":"12折","error":"invalid offer'

# A column where every text parses exits 0.
printf 'id,offer\n1,8折\n2,"满200减30,包邮"\n3,\n' >"$work/good.csv"
run 0 -q offer --file "$work/good.csv" --column offer
expect out 'column offer: 3 rows, 3 parsed, 0 failed'

# --encoding: a GB18030 file is read in auto mode and with gb18030, and rejected as
# UTF-8 with a hint at the options.
run 0 -q offer --file "$data/transactions_gb18030.csv" --column 6 --encoding gb18030
expect out 'column 促销: 20 rows, 20 parsed, 0 failed'
run 3 -q offer --file "$data/transactions_gb18030.csv" --column 6 --encoding utf-8
expect err 'use --encoding gb18030, or use --replace-invalid'

# --replace-invalid: a byte that is not UTF-8 becomes U+FFFD instead of failing the file.
printf 'id,offer\n1\377,8折\n2,包邮\n' >"$work/bad_byte.csv"
run 3 -q offer --file "$work/bad_byte.csv" --column offer --encoding utf-8
expect err '--replace-invalid'
run 0 -q offer --file "$work/bad_byte.csv" --column offer --encoding utf-8 --replace-invalid
expect out 'column offer: 2 rows, 2 parsed, 0 failed'

# Failures in a large column are capped: the first 20 distinct texts with their first
# line and row count, then one line for the rest.
{
  echo 'id,offer'
  for i in $(seq 1 3000); do
    case $((i % 4)) in
      0) echo "$i,8折" ;;
      1) echo "$i,大促" ;;
      2) echo "$i,促$((i % 100))" ;;
      3) echo "$i,12折" ;;
    esac
  done
} >"$work/many.csv"
run 3 -q offer --file "$work/many.csv" --column offer
expect out 'column offer: 3000 rows, 750 parsed, 2250 failed'
expect err "many.csv:2: invalid offer '大促': no offer form promo reads matches it; write it like 8折, 满200减30, 买一送一, \$5 off or 包邮 (750 rows with this text)"
expect err "many.csv:3: invalid offer '促2'"
expect err "many.csv:4: invalid offer '12折': 12折 is not a discount"
expect err 'promo: ... and 210 more rows with 7 other texts that failed'
expect_lines err 21
run 3 -q offer --file "$work/many.csv" --column offer --json
expect_lines out 1
expect out '"rows":3000,"parsed":750,"failed":2250'
expect out '"failed_texts":27,"failed_texts_exact":true,"failures":[{"line":2,"text":"大促","error":"invalid offer'
expect out '"rows":750},{"line":3,"text":"促2"'
expect out '"unlisted_rows":210,"unlisted_texts":7}'
if [ -x /usr/bin/python3 ]; then
  if /usr/bin/python3 -c '
import json, sys
summary = json.load(sys.stdin)
assert len(summary["failures"]) == 20, summary["failures"]
listed = sum(f["rows"] for f in summary["failures"])
assert listed + summary["unlisted_rows"] == summary["failed"], listed
' <"$work/out"; then
    passes=$((passes + 1))
  else
    echo "FAIL: --file --json summary does not add up" >&2
    failures=$((failures + 1))
  fi
fi

# One text past the listed 20 is counted in the singular.
{
  echo 'id,offer'
  for i in $(seq 1 21); do echo "$i,促$i"; done
} >"$work/21.csv"
run 3 -q offer --file "$work/21.csv" --column offer
expect err 'promo: ... and 1 more row with 1 other text that failed'
expect_lines err 21

# A missing file is a failed run (exit 1) that names the path.
run 1 offer --file "$work/missing.csv" --column offer
expect err "$work/missing.csv"

echo "offer.sh: $passes checks passed, $failures failed"
[ "$failures" -eq 0 ]
