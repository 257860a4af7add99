#!/usr/bin/env bash
# The manual soak: builds curlasio_soak in build/ and runs 1 000 000 transfers
# (stops by itself, at the latest after 30 minutes). Extra arguments go to the
# program and override the defaults, e.g.
#   bash scripts/soak.sh --transfers 5000000 --seconds 3600 --concurrency 256
# Exit status: 0 when the soak passed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

# Same build directory and configuration as scripts/test.sh (tests on; the
# other options keep what the cache holds); only the soak target is built.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURLASIO_BUILD_TESTS=ON >/dev/null
cmake --build build -j2 --target curlasio_soak
exec ./build/test/soak/curlasio_soak --transfers 1000000 --seconds 1800 --report-every 5 "$@"
