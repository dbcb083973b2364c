# The small harness every tests/cli/*.sh script sources: the binary and data folder from
# the arguments, a scratch folder removed on exit, and pass/fail counting.
# Usage, at the top of a test script:  source "$(dirname "$0")/lib/harness.sh" "$@"
set -u
promo=$1
data=$2
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
failures=0
passes=0

# check NAME CONDITION... : counts a pass when CONDITION succeeds, else prints NAME.
check() {
  local name=$1
  shift
  if "$@"; then
    passes=$((passes + 1))
  else
    echo "FAIL: $name" >&2
    failures=$((failures + 1))
  fi
}

# run EXPECTED_RC ARGS... : runs promo, keeps stdout in $work/out and stderr in $work/err,
# and checks the exit code (printing stderr when it differs).
run() {
  local expected=$1
  shift
  "$promo" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$expected" ]; then
    echo "FAIL: promo $* exited $rc, expected $expected; stderr:" >&2
    cat "$work/err" >&2
    failures=$((failures + 1))
    return 1
  fi
  passes=$((passes + 1))
}

err_has() { grep -qF -- "$1" "$work/err"; }
out_has() { grep -qF -- "$1" "$work/out"; }
