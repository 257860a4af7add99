#!/usr/bin/env bash
# Builds curlasio with its tests and runs the whole suite.
#   scripts/test.sh                      plain build in build/
#   SANITIZE=address,undefined scripts/test.sh   in build-asan/
#   SANITIZE=thread TESTS=thread_tests scripts/test.sh   in build-tsan/
#   CURL=8 scripts/test.sh               against libcurl 8 from bookworm-backports
#                                        (scripts/deps.sh curl8), in build-curl8[-asan]/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test

sanitize=${SANITIZE:-}
dir=build${CURL:+-curl$CURL}${sanitize:+-${sanitize%%,*}}
dir=${dir/address/asan}; dir=${dir/thread/tsan}
curl_flags=()
case "${CURL:-}" in
    "") ;;
    8)
        bash scripts/deps.sh curl8
        curl8=${CURL8_DIR:-/opt/curlasio-curl8}
        # A full path outside the system's directories: CMake gives every
        # executable of the build tree an rpath to it, so the tests, the
        # examples and the children they start all load this libcurl. The
        # library path covers anything that has no rpath; the tests check it
        # (test/toolkit/curl_version.hpp).
        curl_flags=(-DCURL_INCLUDE_DIR="$curl8/usr/include/x86_64-linux-gnu"
                    -DCURL_LIBRARY="$curl8/usr/lib/x86_64-linux-gnu/libcurl.so")
        export LD_LIBRARY_PATH="$curl8/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        export CURLASIO_EXPECT_CURL_VERSION=8.
        ;;
    *) echo "CURL=$CURL: only 8 (or unset, the system's libcurl)" >&2; exit 2 ;;
esac
# Sanitizer builds check the library through the tests only: no examples, no bench.
# Every option is given, so that a cache left by another command cannot turn tests off.
# Sanitizer builds use -O1 and line tables only (-g1): what the sanitizers'
# reports need, and half the compile time of -O2 -g for the Beast-heavy tests.
others=ON
flags="-O2 -g -DNDEBUG"
[[ -z "$sanitize" ]] || { others=OFF; flags="-O1 -g1 -DNDEBUG"; }
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURLASIO_SANITIZE="$sanitize" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
      -DCURLASIO_BUILD_TESTS=ON -DCURLASIO_BUILD_EXAMPLES=$others -DCURLASIO_BUILD_BENCH=$others \
      "${curl_flags[@]}" >/dev/null
if [[ -n "${TESTS:-}" ]]; then
    cmake --build "$dir" -j2 --target ${TESTS}
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -R "^(${TESTS// /|})\$"
else
    cmake --build "$dir" -j2
    ctest --test-dir "$dir" --output-on-failure --no-tests=error
fi
