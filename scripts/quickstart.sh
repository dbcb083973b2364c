#!/usr/bin/env bash
# Set up, build and run the main job on the bundled real data: clean a sample of real
# grocery transactions and print the reconciled summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPROMO_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

mkdir -p out
build/promo clean examples/transactions/transactions.csv \
  -o out/transactions_clean.csv \
  --rejects out/transactions_rejects.csv \
  --report out/transactions_quality.json \
  --missing median
