#!/usr/bin/env bash
# Builds and runs a consumer program (test/consumer/consumer.cpp) the three
# ways a user would: find_package against a fresh install prefix
# (test/cmake_install), add_subdirectory (test/cmake_subdir), and plain g++
# with pkg-config. The library is installed from BUILD_DIR (default build/,
# scripts/test.sh's), building only its library target there.
#   bash scripts/consumer_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${BUILD_DIR:-build}
bash scripts/deps.sh # g++, cmake, pkg-config, Boost, libcurl

work=$(mktemp -d "${TMPDIR:-/tmp}/curlasio-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURLASIO_BUILD_TESTS=OFF \
          -DCURLASIO_BUILD_EXAMPLES=OFF -DCURLASIO_BUILD_BENCH=OFF >/dev/null
fi
if grep -q '^CURLASIO_SANITIZE:STRING=.\+' "$build/CMakeCache.txt"; then
    echo "consumer_test: $build is a sanitizer build; give BUILD_DIR of a plain one" >&2
    exit 1
fi
cmake --build "$build" -j2 --target curlasio
cmake --install "$build" --prefix "$prefix" >/dev/null

echo "-- installed tree"
config_dir=$(dirname "$(find "$prefix" -name curlasioConfig.cmake)")
pc_dir=$(dirname "$(find "$prefix" -name curlasio.pc)")
for f in "$config_dir/curlasioConfigVersion.cmake" "$config_dir/curlasio-targets.cmake" \
         "$prefix/include/curlasio/curlasio.hpp"; do
    [[ -f $f ]] || { echo "consumer_test: not installed: $f" >&2; exit 1; }
done
# Our own build settings stay ours.
if grep -rq BOOST_ASIO_NO_DEPRECATED "$config_dir"; then
    echo "consumer_test: BOOST_ASIO_NO_DEPRECATED leaks into the installed targets" >&2; exit 1
fi
# Installed headers that include OpenSSL need the package to find it.
if grep -rqE '#include <openssl/' "$prefix/include/curlasio" &&
   ! grep -q 'find_dependency(OpenSSL' "$config_dir/curlasioConfig.cmake"; then
    echo "consumer_test: the headers include OpenSSL, curlasioConfig.cmake does not find it" >&2; exit 1
fi

echo "-- find_package(curlasio CONFIG) from $prefix"
cmake -S test/cmake_install -B "$work/install-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/install-build" -j2
"$work/install-build/consumer"

echo "-- add_subdirectory"
cmake -S test/cmake_subdir -B "$work/subdir-build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/subdir-build" -j2 --target consumer
"$work/subdir-build/consumer"
# A parent's install does not ship the subproject.
cmake --install "$work/subdir-build" --prefix "$work/subdir-prefix" >/dev/null
if [[ -e $work/subdir-prefix/include/curlasio ]]; then
    echo "consumer_test: add_subdirectory installed curlasio with its parent" >&2; exit 1
fi

echo "-- g++ with pkg-config"
export PKG_CONFIG_PATH=$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pkg-config --exists --print-errors curlasio
g++ -std=c++20 $(pkg-config --cflags curlasio) test/consumer/consumer.cpp \
    $(pkg-config --libs curlasio) -o "$work/consumer-pc"
"$work/consumer-pc"
echo "consumer_test: all three consumers built and passed"
