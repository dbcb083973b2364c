#!/usr/bin/env bash
# Command-line tests of `promo report`: exit codes and messages, then the rendered pages
# of tests/data/report/*.json loaded in headless Chromium in English and Chinese: each
# page's check script must report every chart drawn ("ok N"), with no console output.
# Exits 77 (skipped) when chromium is not installed and everything else passed.
# Usage: report.sh PROMO_BINARY TESTS_DATA_DIR
source "$(dirname "$0")/lib/harness.sh" "$@"

# run EXPECTED_RC LANG ARGS... : runs promo, keeps stdout in $work/out and stderr in
# $work/err, and checks the exit code.
run() {
  local expected=$1 lang=$2
  shift 2
  "$promo" --lang "$lang" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$expected" ]; then
    echo "FAIL: promo --lang $lang $* exited $rc, expected $expected; stderr:" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
    return 1
  fi
  passes=$((passes + 1))
}

# expect FILE TEXT : TEXT must occur in FILE (out and err name promo's outputs).
expect() {
  local file=$1
  [ -f "$file" ] || file="$work/$1"
  if grep -qF -- "$2" "$file"; then
    passes=$((passes + 1))
  else
    echo "FAIL: $1 lacks '$2'; it was:" >&2
    head -c 2000 "$file" >&2
    failures=$((failures + 1))
  fi
}

# ---- arguments and errors ----
run 2 en report
expect err 'give the run document'
run 2 en report "$data/report/binary.json"
expect err 'no output file given'
run 2 en report "$data/report/binary.json" -o "$data/report/binary.json"
expect err 'name the same file'
run 2 en report "$data/report/binary.json" --bogus -o "$work/x.html"
expect err "unknown option '--bogus'"
run 1 en report "$work/missing.json" -o "$work/x.html"
expect err 'missing.json'

printf '{"title": "a",\n "stages": [1,]}\n' >"$work/broken.json"
run 3 en report "$work/broken.json" -o "$work/x.html"
expect err 'broken.json:2:'
[ ! -e "$work/x.html" ] && passes=$((passes + 1)) || { echo "FAIL: x.html written for broken JSON" >&2; failures=$((failures + 1)); }

printf '{"training": {"history": {"epoch": 1}}}\n' >"$work/wrong.json"
run 3 en report "$work/wrong.json" -o "$work/x.html"
expect err 'wrong.json: invalid report document: "training.history" must be an array, found an object'

run 0 en report --help
expect out 'Usage: promo report RUN.json -o REPORT.html'

# ---- rendering ----
for doc in binary poisson; do
  for lang in en zh; do
    run 0 "$lang" report "$data/report/$doc.json" -o "$work/$doc.$lang.html"
    if grep -qE 'https?:|url\(|src=' "$work/$doc.$lang.html"; then
      echo "FAIL: $doc.$lang.html refers to an external resource" >&2
      failures=$((failures + 1))
    else
      passes=$((passes + 1))
    fi
  done
done
# The page's lang follows the language its heading came out in.
if grep -qF '<h1>Promotion report</h1>' "$work/poisson.zh.html"; then
  expect "$work/poisson.zh.html" '<html lang="en">'
else
  expect "$work/poisson.zh.html" '<html lang="zh-CN">'
fi
expect "$work/poisson.en.html" '<html lang="en">'

if [ "$failures" -ne 0 ]; then
  echo "report.sh: $failures failed, $passes passed" >&2
  exit 1
fi

# ---- headless Chromium ----
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "report.sh: SKIPPED the browser checks: chromium is not installed (scripts/deps.sh installs it); $passes passed" >&2
  exit 77
fi

# browse PAGE CHECK : loads PAGE, expects data-check="CHECK" and no console line.
browse() {
  local page=$1 check=$2
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
    --dump-dom "file://$page" >"$work/dom" 2>"$work/browser"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: chromium exited $rc on $page" >&2
    tail -20 "$work/browser" >&2
    failures=$((failures + 1))
    return
  fi
  expect dom "data-check=\"$check\""
  # The page itself logs nothing, so any console line is a script error or a blocked load.
  if grep -E 'Uncaught|CONSOLE' "$work/browser" >&2; then
    echo "FAIL: console output while loading $page" >&2
    failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
}

for lang in en zh; do
  browse "$work/binary.$lang.html" "ok 8"
  browse "$work/poisson.$lang.html" "ok 7"
done

# The check script itself must catch charts that lost their marks.
sed 's/class="mark line"/class="line"/' "$work/binary.en.html" >"$work/damaged.html"
browse "$work/damaged.html" "missing: training,roc,pr"

if [ "$failures" -ne 0 ]; then
  echo "report.sh: $failures failed, $passes passed" >&2
  exit 1
fi
echo "report.sh: $passes checks passed"
