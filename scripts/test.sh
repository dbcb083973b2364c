#!/usr/bin/env bash
# Set up, build the test configuration (AddressSanitizer + UBSan) and run every test:
# unit tests, command-line tests and a short fuzzing run of each parser.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DPROMO_SANITIZE=ON >/dev/null
cmake --build build-test -j"$(nproc)"

# The fuzz targets need clang's libFuzzer; they build in their own folder.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPROMO_FUZZ=ON -DPROMO_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)"

status=0
(cd build-test && ctest --output-on-failure) || status=1
(cd build-fuzz && ctest --output-on-failure) || status=1
exit $status
