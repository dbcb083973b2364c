#!/usr/bin/env bash
# Command-line tests of `promo clean`: exit codes, error messages with file and line,
# atomic outputs, the reconciled summary in English and Chinese.
# Usage: clean.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

# --- the bundled real sample: reconciled summary in English and Chinese
run 0 clean "$data/transactions_500.csv" -o "$work/clean.csv" --rejects "$work/rej.csv" --report "$work/q.json"
check "summary balanced" err_has "balanced"
check "summary rows in" err_has "500"
check "output exists" test -s "$work/clean.csv"
check "report exists" test -s "$work/q.json"
LANG=zh_CN.UTF-8 run 0 clean "$data/transactions_500.csv" -o "$work/clean.csv"
check "chinese summary" err_has "输入"
run 0 --lang zh clean "$data/transactions_500.csv" -o "$work/clean.csv"
check "--lang zh summary" err_has "输入"

# --- usage errors exit 2
run 2 clean
check "no input message" err_has "no input file"
run 2 clean "$data/transactions_500.csv"
check "no output message" err_has "-o OUTPUT.csv"
run 2 clean "$data/transactions_500.csv" -o "$work/x.csv" --bogus
check "unknown option named" err_has "--bogus"
run 2 clean "$data/transactions_500.csv" -o "$work/x.csv" --key no_such_column
check "unknown key column named" err_has "no_such_column"
run 2 clean "$data/transactions_500.csv" -o "$work/x.csv" --missing sometimes
run 2 clean "$data/transactions_500.csv" -o "$work/x.csv" --types quantity=money
check "unknown type named" err_has "money"
run 2 bogus-command
run 0 help clean
check "help clean lists --rejects" grep -qF -- "--rejects" "$work/out"
run 0 --version
check "version printed" grep -q "^promo " "$work/out"
run 0 --help
check "help lists clean" grep -qF "clean" "$work/out"

# --- bad input exits 1 (I/O) or 3 (invalid data) and names the file
run 1 clean "$work/missing.csv" -o "$work/x.csv"
check "missing file named" err_has "missing.csv"
: >"$work/empty.csv"
run 3 clean "$work/empty.csv" -o "$work/x.csv"
check "empty file named" err_has "empty.csv"
printf '1,2,3\n4,5,6\n' >"$work/noheader.csv"
run 3 clean "$work/noheader.csv" -o "$work/x.csv"
check "no header explained" err_has "header"
head -c 3000 /bin/sh >"$work/binary.csv"
run 3 clean "$work/binary.csv" -o "$work/x.csv"
check "binary named" err_has "binary.csv"
printf 'a,b\n1,2\n3,4,5\n6,7\n' >"$work/ragged.csv"
run 3 clean "$work/ragged.csv" -o "$work/x.csv"
check "ragged row line" err_has "ragged.csv:3"
printf 'a,b\n1,"x\n' >"$work/quote.csv"
run 3 clean "$work/quote.csv" -o "$work/x.csv"
check "unterminated quote line" err_has "quote.csv:2"
printf 'a,b\n1,\xff\xfe\xfd\n' >"$work/badutf8.csv"
run 3 clean "$work/badutf8.csv" -o "$work/x.csv" --encoding utf-8
check "invalid byte line" err_has "badutf8.csv:2"
check "no partial output" test ! -e "$work/x.csv"
run 0 clean "$work/badutf8.csv" -o "$work/x.csv" --encoding utf-8 --replace-invalid

# --- GB18030 input, read as such and written as UTF-8
if [ -f "$data/transactions_gb18030.csv" ]; then
  run 0 clean "$data/transactions_gb18030.csv" -o "$work/zh.csv" --rejects "$work/zh_rej.csv"
  check "gb18030 header converted" grep -q "订单号" "$work/zh.csv"
fi

# --- outputs: unwritable folder, output over input, full disk, BOM
run 1 clean "$data/transactions_500.csv" -o "$work/no/such/dir/x.csv"
check "unwritable folder named" err_has "no/such/dir"
cp "$data/transactions_500.csv" "$work/in.csv"
run 2 clean "$work/in.csv" -o "$work/in.csv"
check "input untouched" cmp -s "$data/transactions_500.csv" "$work/in.csv"
(
  ulimit -f 4 # 2 KiB: writes past it fail with EFBIG, as on a full disk
  trap '' XFSZ
  "$promo" clean "$data/transactions_500.csv" -o "$work/full.csv" 2>"$work/err"
  echo $? >"$work/rc"
)
check "full disk fails" test "$(cat "$work/rc")" = 1
check "full disk leaves no file" test ! -e "$work/full.csv"
check "full disk leaves no temp file" test -z "$(ls "$work" | grep '\.tmp\.')"
run 0 clean "$data/transactions_500.csv" -o "$work/bom.csv" --bom
check "bom written" test "$(head -c 3 "$work/bom.csv" | od -An -tx1 | tr -d ' ')" = "efbbbf"

# --- output paths: symlinks write through, devices are rejected, one file spelled twice
echo "old" >"$work/target.csv"
ln -s target.csv "$work/link.csv"
run 0 clean "$data/transactions_500.csv" -o "$work/link.csv"
check "symlink kept" test -L "$work/link.csv"
check "symlink target written" grep -q "household_id" "$work/target.csv"
run 2 clean "$data/transactions_500.csv" -o /dev/null
check "device output rejected" err_has "device"
mkdir -p "$work/sub"
run 2 clean "$data/transactions_500.csv" -o "$work/sub/x.csv" --rejects "$work/sub/../sub/x.csv"
check "same output twice rejected" err_has "same file name"
echo "keep" >"$work/private.csv"
chmod 600 "$work/private.csv"
run 0 clean "$data/transactions_500.csv" -o "$work/private.csv"
check "permissions kept" test "$(stat -c %a "$work/private.csv")" = 600
echo "OLD" >"$work/old_out.csv"
run 1 clean "$data/transactions_500.csv" -o "$work/old_out.csv" --report "$work/missing_dir/q.json"
check "failed run keeps old output" grep -qx "OLD" "$work/old_out.csv"

# --- a mostly numeric column that falls back to text is named in a warning
{
  echo "sku,unit_price"
  for i in $(seq 1 60); do echo "$i,$i.5"; done
  echo "61,面议"
} >"$work/fallback.csv"
run 0 clean "$work/fallback.csv" -o "$work/fallback_out.csv"
check "fallback warning names column" err_has "unit_price=decimal"

echo "clean.sh: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
