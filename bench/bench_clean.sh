#!/usr/bin/env bash
# Times `promo clean` against the pandas peer (bench/clean_pandas.py) on the same generated
# file and prints wall time, throughput and peak memory for both.
#
# Usage: bash bench/bench_clean.sh [--pandas-only] [PROMO_BINARY]
#   PROMO_BINARY   promo executable to time (default build/promo)
#   --pandas-only  time only pandas, for machines without a promo build
# Environment: ROWS (default 1000000), SEED (default 1), PYTHON (default /usr/bin/python3),
# GENERATOR (default build/gen_clean_csv, built from bench/gen_clean_csv.c when stale).
# Needs GNU time (Debian package `time`) and pandas (Debian package `python3-pandas`).
# Inputs, outputs and raw measurements go to bench/out/.
set -euo pipefail

rows=${ROWS:-1000000}
seed=${SEED:-1}
python=${PYTHON:-/usr/bin/python3}
gnu_time=/usr/bin/time
out_dir=bench/out
generator=${GENERATOR:-build/gen_clean_csv}

pandas_only=0
promo=build/promo
while [[ $# -gt 0 ]]; do
    case $1 in
        --pandas-only) pandas_only=1 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench_clean.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
        *) promo=$1 ;;
    esac
    shift
done

# A promo path given on the command line is relative to the caller's folder. The default
# and every other path here are relative to the repository root.
if [[ $promo == */* && $promo != /* && $promo != build/promo ]]; then
    promo=$PWD/$promo
elif [[ $promo != */* ]]; then
    promo=$(command -v "$promo" || echo "$promo")
fi
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

die() {
    echo "bench_clean.sh: $*" >&2
    exit 1
}

# Check every tool before spending minutes on the first run.
[[ $rows =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive integer, got '$rows'"
[[ $seed =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer, got '$seed'"
[[ -x $gnu_time ]] || die "$gnu_time not found; install GNU time: apt-get install time"
"$python" -c 'import pandas' 2>/dev/null ||
    die "$python cannot import pandas; install it: apt-get install python3-pandas"
if [[ $pandas_only -eq 0 && ! -x $promo ]]; then
    die "promo binary '$promo' not found or not executable; build it with
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build
or pass its path as the first argument (or --pandas-only to skip it)"
fi
command -v cc >/dev/null || die "no C compiler 'cc' to build $generator; install gcc"

mkdir -p "$out_dir" "$(dirname "$generator")"

if [[ $rows -eq 1000000 ]]; then
    input=$out_dir/clean_1m.csv
else
    input=$out_dir/clean_${rows}.csv
fi

# Build the generator when missing or older than its source.
if [[ ! -x $generator || bench/gen_clean_csv.c -nt $generator ]]; then
    echo "building $generator" >&2
    cc -O2 -o "$generator" bench/gen_clean_csv.c || die "building $generator failed"
fi

# The file name records only the row count, so <input>.seed records the seed, and a file
# written with another seed is regenerated.
if [[ ! -s $input || ! -s $input.seed || ! -s $input.stats || $(cat "$input.seed") != "$seed" ]]
then
    echo "generating $input ($rows rows, seed $seed)" >&2
    "$generator" -n "$rows" -s "$seed" -o "$input.tmp" 2> "$input.stats" ||
        die "generator failed: $(cat "$input.stats")"
    mv "$input.tmp" "$input"
    echo "$seed" > "$input.seed"
fi
cat "$input.stats" >&2

input_bytes=$(stat -c %s "$input")

# Runs a command under GNU time, keeping its stdout and stderr in $out_dir/<name>.*.
# The input is read once beforehand so that both tools start with it in the page cache.
time_run() {
    local name=$1
    shift
    cat "$input" > /dev/null
    echo "running $name: $*" >&2
    if ! "$gnu_time" -v -o "$out_dir/$name.time" "$@" \
        > "$out_dir/$name.stdout" 2> "$out_dir/$name.stderr"; then
        echo "bench_clean.sh: $name failed; last lines of its stderr:" >&2
        tail -n 20 "$out_dir/$name.stderr" >&2
        exit 1
    fi
}

# Prints "wall_seconds max_rss_kib" from a GNU time -v report.
read_time_report() {
    awk -F': ' '
        /Elapsed \(wall clock\) time/ {
            n = split($2, part, ":")
            wall = (n == 3) ? part[1] * 3600 + part[2] * 60 + part[3] : part[1] * 60 + part[2]
        }
        /Maximum resident set size/ { rss = $2 }
        END {
            if (wall == "" || rss == "") exit 1
            print wall, rss
        }' "$1" || die "cannot read wall time and peak memory from $1"
}

count_rows() {
    # No field of the generated file contains a line break, so lines minus the header are rows.
    if [[ -f $1 ]]; then echo $(( $(wc -l < "$1") - 1 )); else echo "-"; fi
}

# Outputs of an earlier run must not be counted if a tool fails to write new ones.
rm -f "$out_dir"/pandas_clean.csv "$out_dir"/promo_clean.csv "$out_dir"/promo_report.json \
    "$out_dir"/promo_rejects.csv "$out_dir"/summary.txt

time_run pandas "$python" bench/clean_pandas.py "$input" "$out_dir/pandas_clean.csv"
pandas_report=$(read_time_report "$out_dir/pandas.time")
read -r pandas_wall pandas_rss <<< "$pandas_report"
pandas_rows=$(count_rows "$out_dir/pandas_clean.csv")

if [[ $pandas_only -eq 0 ]]; then
    time_run promo "$promo" clean "$input" -o "$out_dir/promo_clean.csv" --missing median \
        --report "$out_dir/promo_report.json" --rejects "$out_dir/promo_rejects.csv"
    promo_report=$(read_time_report "$out_dir/promo.time")
    read -r promo_wall promo_rss <<< "$promo_report"
    promo_rows=$(count_rows "$out_dir/promo_clean.csv")
fi

# Prints one table row: tool, wall seconds, peak RSS in KiB, rows written. MB is 10^6 bytes
# throughout. GNU time measures wall time in steps of 0.01 s, so a zero gets no MB/s.
print_row() {
    awk -v t="$1" -v w="$2" -v r="$3" -v n="$4" -v b="$input_bytes" 'BEGIN {
        rate = (w > 0) ? sprintf("%.1f", b / 1e6 / w) : "-"
        printf "%-8s %9.2f %9s %13.1f %9.2fx %10s\n", t, w, rate, r * 1024 / 1e6, r * 1024 / b, n
    }'
}

echo
echo "input: $input ($(awk -v b="$input_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB," \
    "$rows rows, seed $seed); $(nproc) CPUs"
echo "pandas steps: $(cat "$out_dir/pandas.stdout")"
{
    printf '%-8s %9s %9s %13s %10s %10s\n' tool wall_s MB/s peak_rss_MB rss/file rows_out
    print_row pandas "$pandas_wall" "$pandas_rss" "$pandas_rows"
    if [[ $pandas_only -eq 0 ]]; then
        print_row promo "$promo_wall" "$promo_rss" "$promo_rows"
    fi
} | tee "$out_dir/summary.txt"
if [[ $pandas_only -eq 0 ]]; then
    awk -v p="$pandas_wall" -v q="$promo_wall" -v pr="$pandas_rss" -v qr="$promo_rss" 'BEGIN {
        if (q > 0) printf "wall time pandas/promo: %.2f (above 1: promo is faster)\n", p / q
        if (pr > 0) printf "peak RSS promo/pandas: %.2f (below 1: promo uses less)\n", qr / pr
    }' | tee -a "$out_dir/summary.txt"
    if [[ $pandas_rows != "$promo_rows" ]]; then
        echo "note: the tools kept different row counts ($pandas_rows vs $promo_rows);" \
            "check $out_dir/promo_rejects.csv for rows promo rejected" | tee -a "$out_dir/summary.txt"
    fi
fi
