#!/usr/bin/env bash
# The main job: build curlasio and run the example fetcher. With no argument
# it fetches a batch from an embedded loopback server; arguments are passed to
# the fetcher (URLs, -n PARALLEL, -c COUNT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# Same build directory as scripts/test.sh; only the fetch target is built.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target fetch
exec ./build/examples/fetch "$@"
