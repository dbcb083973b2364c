#!/usr/bin/env bash
# Trains the reference MLP (Dense 128 ReLU, Dense 64 ReLU, Dense 1 sigmoid; Adam 0.001,
# eps 1e-7; binary cross-entropy) with promo and with PyTorch on the same data file and the
# same train/test split. Both run at batch 32 and 1024 with 1 and 2 threads each. Then
# promo trains once more per batch size from PyTorch's initial weights, so that the AUCs
# compare the training and not the initialization. The script prints a table of training
# rows/s, the ratio promo / PyTorch at each side's best thread count, and the test AUCs.
#
# Usage: bash bench/bench_nn_torch.sh [BENCH_BINARY]
#   BENCH_BINARY  bench_nn executable (default build/bench/bench_nn, built with
#                 -DPROMO_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release)
# Environment: DATA (default bench/out/nn_data.bin, written first by
# bench/nn_torch.py --make when missing), PYTHON (default /usr/bin/python3, which has
# Debian's python3-torch), EPOCHS (default 10), EPOCHS_TORCH_32 (PyTorch's epochs at batch
# 32, default EPOCHS; about 12 s each), THREADS (default "1 2").
# Outputs go to bench/out/nn_torch_*: each run's JSON lines and the summary table.
set -euo pipefail

data=${DATA:-bench/out/nn_data.bin}
python=${PYTHON:-/usr/bin/python3}
epochs=${EPOCHS:-10}
epochs_torch_32=${EPOCHS_TORCH_32:-$epochs}
threads=${THREADS:-1 2}
out_dir=bench/out

bench=build/bench/bench_nn
while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench_nn_torch.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
        *) bench=$1 ;;
    esac
    shift
done

# Paths given by the caller are relative to the caller's folder. The script then works
# from the repository root.
[[ $bench == /* ]] || bench=$PWD/$bench
[[ $data == /* ]] || data=$PWD/$data
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
if [[ ! -x $bench ]]; then
    echo "bench_nn_torch.sh: executable not found at '$bench'; build it with -DPROMO_BUILD_BENCH=ON" >&2
    exit 1
fi
mkdir -p "$out_dir"
if [[ ! -f $data ]]; then
    "$python" bench/nn_torch.py --make "$data"
fi

results=$out_dir/nn_torch_results.jsonl
init=$out_dir/nn_torch_init.bin
: > "$results"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "OpenBLAS environment: $(env | grep '^OPENBLAS' | tr '\n' ' ' || true)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out_dir/nn_torch_machine.txt"

for batch in 32 1024; do
    for t in $threads; do
        log=$out_dir/nn_torch_promo_b${batch}_t${t}.jsonl
        "$bench" --data "$data" --epochs "$epochs" --batch "$batch" --threads "$t" > "$log"
        tail -n 1 "$log" | tee -a "$results"
    done
done
for batch in 32 1024; do
    e=$epochs
    [[ $batch == 32 ]] && e=$epochs_torch_32
    for t in $threads; do
        log=$out_dir/nn_torch_torch_b${batch}_t${t}.jsonl
        # OMP_NUM_THREADS and OPENBLAS_NUM_THREADS equal the count given to
        # torch.set_num_threads. With 2 of each on 2 cores the two pools contend, which the
        # table shows. Every run seeds PyTorch alike, so all save the same initial weights.
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$python" bench/nn_torch.py --data "$data" \
            --epochs "$e" --batch "$batch" --threads "$t" --save-init "$init" > "$log"
        tail -n 1 "$log" | tee -a "$results"
    done
done
t_promo=${threads##* }
for batch in 32 1024; do
    log=$out_dir/nn_torch_promo_torchinit_b${batch}_t${t_promo}.jsonl
    "$bench" --data "$data" --epochs "$epochs" --batch "$batch" --threads "$t_promo" \
        --init-weights "$init" > "$log"
    tail -n 1 "$log" | tee -a "$results"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out_dir/nn_torch_machine.txt"

"$python" - "$results" <<'EOF' | tee "$out_dir/nn_torch_summary.txt"
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print()
print(f"{'side':6} {'init':5} {'batch':>5} {'threads':>7} {'epochs':>6} {'mean rows/s':>12} "
      f"{'best epoch':>12} {'test AUC':>9}")
for r in runs:
    print(f"{r['side']:6} {r['init']:5} {r['batch']:5} {r['threads']:7} {r['epochs']:6} "
          f"{r['mean_rows_per_s']:12,.0f} {r['best_rows_per_s']:12,.0f} {r['test_auc']:9.4f}")
print()
print(f"{'batch':>5} {'promo best':>12} {'torch best':>12} {'promo/torch':>11} "
      f"{'AUC promo':>9} {'same init':>9} {'AUC torch':>9}")
for batch in sorted({r['batch'] for r in runs}):
    best = {}
    for side in ('promo', 'torch'):
        rows = [r for r in runs if r['side'] == side and r['batch'] == batch
                and (side == 'torch' or r['init'] == 'he')]
        best[side] = max(rows, key=lambda r: r['mean_rows_per_s'])
    p, t = best['promo'], best['torch']
    same = [r for r in runs if r['side'] == 'promo' and r['batch'] == batch
            and r['init'] == 'torch']
    same_auc = f"{same[0]['test_auc']:9.4f}" if same else f"{'-':>9}"
    print(f"{batch:5} {p['mean_rows_per_s']:12,.0f} {t['mean_rows_per_s']:12,.0f} "
          f"{p['mean_rows_per_s'] / t['mean_rows_per_s']:10.1f}x "
          f"{p['test_auc']:9.4f} {same_auc} {t['test_auc']:9.4f}")
print("(best: the thread count with the higher mean rows/s, and the AUC of that run; same")
print(" init: promo started from PyTorch's initial weights instead of He uniform)")
EOF
