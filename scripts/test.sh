#!/usr/bin/env bash
# Builds curlasio with its tests and runs the whole suite.
#   scripts/test.sh                      plain build in build/
#   SANITIZE=address,undefined scripts/test.sh   in build-asan/
#   SANITIZE=thread TESTS=thread_tests scripts/test.sh   in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test

sanitize=${SANITIZE:-}
dir=build${sanitize:+-${sanitize%%,*}}
dir=${dir/address/asan}; dir=${dir/thread/tsan}
# Sanitizer builds check the library through the tests only: no examples, no bench.
# Every option is given, so that a cache left by another command cannot turn tests off.
# Sanitizer builds use -O1 and line tables only (-g1): what the sanitizers'
# reports need, and half the compile time of -O2 -g for the Beast-heavy tests.
others=ON
flags="-O2 -g -DNDEBUG"
[[ -z "$sanitize" ]] || { others=OFF; flags="-O1 -g1 -DNDEBUG"; }
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURLASIO_SANITIZE="$sanitize" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
      -DCURLASIO_BUILD_TESTS=ON -DCURLASIO_BUILD_EXAMPLES=$others -DCURLASIO_BUILD_BENCH=$others >/dev/null
if [[ -n "${TESTS:-}" ]]; then
    cmake --build "$dir" -j2 --target ${TESTS}
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -R "^(${TESTS// /|})\$"
else
    cmake --build "$dir" -j2
    ctest --test-dir "$dir" --output-on-failure --no-tests=error
fi
