#!/usr/bin/env bash
# Times promo's feature stage against scikit-learn on the same CSV file: standardize +
# one-hot + PCA, fitted and then applied. It prints a table of seconds per step, the ratios
# scikit-learn / promo and both tools' explained variance ratios, which must agree.
#
# Usage: bash bench/bench_features.sh [BENCH_BINARY]
#   BENCH_BINARY  bench_features executable (default build/bench/bench_features, built
#                 with -DPROMO_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release)
# Environment: CSV (default bench/out/clean_1m.csv), PYTHON (default /usr/bin/python3),
# REPEAT (timed runs per setting, default 3), WARMUP (untimed runs first, default 1),
# THREADS (thread counts for both tools, default "1 2"), SOLVERS (scikit-learn PCA
# solvers, default "randomized,full").
# Outputs go to bench/out/features_*: the JSON lines of each tool and the summary table.
set -euo pipefail

csv=${CSV:-bench/out/clean_1m.csv}
python=${PYTHON:-/usr/bin/python3}
repeat=${REPEAT:-3}
warmup=${WARMUP:-1}
threads=${THREADS:-1 2}
solvers=${SOLVERS:-randomized,full}
out_dir=bench/out

bench=build/bench/bench_features
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench_features.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
        *) bench=$1 ;;
    esac
    shift
done

# Paths given by the caller are relative to the caller's folder. The script then works
# from the repository root.
[[ $bench == /* ]] || bench=$PWD/$bench
[[ $csv == /* ]] || csv=$PWD/$csv
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

die() {
    echo "bench_features.sh: $*" >&2
    exit 1
}

[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer, got '$repeat'"
[[ $warmup =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$warmup'"
[[ -x $bench ]] || die "'$bench' not found or not executable; build it with
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPROMO_BUILD_BENCH=ON && cmake --build build
or pass its path as the first argument"
[[ -s $csv ]] || die "'$csv' not found; write it with 'bash bench/bench_clean.sh --pandas-only'
or with the generator as bench/README.md explains"
"$python" -c 'import sklearn, pandas' 2>/dev/null ||
    die "$python cannot import sklearn and pandas; install python3-sklearn and python3-pandas"

mkdir -p "$out_dir"
rm -f "$out_dir"/features_*.jsonl "$out_dir"/features_columns.json "$out_dir"/features_summary.txt

# These variables choose OpenBLAS's kernel and cache size. Some environments set them, which
# makes NumPy's BLAS differ from a default installation, so the Python runs unset them.
# The records name the kernel that threadpoolctl reports.
for name in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
    if [[ -n ${!name+set} ]]; then
        echo "note: $name=${!name} is set; the scikit-learn runs unset it" >&2
    fi
done

echo "promo: $bench on $csv" >&2
cat "$csv" > /dev/null
"$bench" --threads "${threads// /,}" --repeat "$repeat" --warmup "$warmup" "$csv" \
    > "$out_dir/features_promo.jsonl" || die "bench_features failed"
head -n 1 "$out_dir/features_promo.jsonl" > "$out_dir/features_columns.json"

sklearn_outputs=()
for n in $threads; do
    echo "scikit-learn: OPENBLAS_NUM_THREADS=$n, solvers $solvers" >&2
    cat "$csv" > /dev/null
    output=$out_dir/features_sklearn_t$n.jsonl
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$n" OMP_NUM_THREADS="$n" \
        "$python" bench/features_sklearn.py --columns "$out_dir/features_columns.json" \
        --repeat "$repeat" --warmup "$warmup" --solvers "$solvers" "$csv" > "$output" ||
        die "features_sklearn.py failed with $n threads"
    sklearn_outputs+=("$output")
done

echo "$(nproc) CPUs: $(lscpu | sed -n 's/^Model name: *//p')" | tee "$out_dir/features_summary.txt"
"$python" bench/features_summary.py "$out_dir/features_promo.jsonl" "${sklearn_outputs[@]}" |
    tee -a "$out_dir/features_summary.txt"
