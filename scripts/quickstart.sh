#!/usr/bin/env bash
# Set up, build and run the main job on bundled real data: `promo run` on the Hillstrom
# e-mail campaign — clean, train, cross-validate and test, plan who gets which e-mail
# under a send budget, and write the report. LANG=zh_CN.UTF-8 (or PROMO_LANG=zh) gives
# the report and messages in Chinese.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPROMO_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

lang=()
if [ -n "${PROMO_LANG:-}" ]; then lang=(--lang "$PROMO_LANG"); fi
build/promo "${lang[@]}" run examples/hillstrom/project.yaml -o out/hillstrom
