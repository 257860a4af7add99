#!/usr/bin/env bash
# Runs the curlasio benchmark. Usage:
#   bash bench/run.sh            full run (~10 min), writes bench/results/
#   bash bench/run.sh --smoke    correctness only, seconds; exit 1 on any failed request
#   bash bench/run.sh --big-bytes N   size of the big download (default 1 GiB)
# Environment: BUILD_DIR (default <repo>/build-bench, or build-bench-curl8),
# NO_INSTALL=1 to never apt-get, CURL=8 to build and run against libcurl 8
# from bookworm-backports (scripts/deps.sh curl8) instead of the system's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
build="${BUILD_DIR:-$repo/build-bench${CURL:+-curl$CURL}}"
curl_flags=()
case "${CURL:-}" in
  "") ;;
  8)
    [[ "${NO_INSTALL:-0}" == 1 ]] || bash "$repo/scripts/deps.sh" curl8
    curl8=${CURL8_DIR:-/opt/curlasio-curl8}
    curl_flags=(-DCURL_INCLUDE_DIR="$curl8/usr/include/x86_64-linux-gnu"
                -DCURL_LIBRARY="$curl8/usr/lib/x86_64-linux-gnu/libcurl.so")
    # The baseline clients (curl, h2load) load it too.
    export LD_LIBRARY_PATH="$curl8/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    ;;
  *) echo "CURL=$CURL: only 8 (or unset, the system's libcurl)" >&2; exit 2 ;;
esac

# The build's own packages (scripts/deps.sh installs only what is missing).
[[ "${NO_INSTALL:-0}" == 1 ]] || bash "$repo/scripts/deps.sh" >/dev/null

# Tools: install what is missing (apt-get update only then); skip parts otherwise.
need=()
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || need+=(nginx-light)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v nghttpd >/dev/null || need+=(nghttp2-server)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v openssl >/dev/null || need+=(openssl)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
# syscalls per request: perf stat if it is there, else strace -c
command -v perf >/dev/null || command -v strace >/dev/null || need+=(strace)
if ((${#need[@]})) && [[ "${NO_INSTALL:-0}" != 1 ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo -n"
  echo "installing: ${need[*]}"
  if ! ($sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null; then
    echo "could not install ${need[*]}; the parts that need them are skipped"
  fi
fi

# Build (incremental; the bench is meaningless without optimisation).
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCURLASIO_BUILD_TESTS=OFF -DCURLASIO_BUILD_EXAMPLES=OFF -DCURLASIO_BUILD_BENCH=ON \
        "${curl_flags[@]}" >/dev/null
fi
cmake --build "$build" --target curlasio_bench beast_proxy -j2 >/dev/null
# Which libcurl the figures are of: the one the bench binary loads.
echo "libcurl: $(ldd "$build/bench/curlasio_bench" | awk '/libcurl/ {print $3}' | xargs readlink -f)"
exec python3 "$here/driver.py" --bin "$build/bench/curlasio_bench" \
     --proxy-bin "$(cat "$build/bench/beast_proxy_path")" --out "$here/results" "$@"
