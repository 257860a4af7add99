#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages a build needs (and, given
# "test", what the tests need; given "fuzz", clang and libFuzzer; given "format", only clang-format;
# given "docs", only doxygen; given "screenshot", only chromium). Installs only
# what is missing, so it is cheap and safe to run again.
set -euo pipefail

packages=(g++ cmake make pkg-config libboost1.81-dev libboost-test1.81-dev
          libboost-context1.81-dev libboost-coroutine1.81-dev libboost-url1.81-dev
          libboost-json1.81-dev libcurl4-openssl-dev libssl-dev zlib1g-dev)
case "${1:-}" in
    test) packages+=(curl wrk nghttp2-server tinyproxy squid microsocks python3-httpbin gunicorn python3-h2) ;;
    fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    format) packages=(clang-format-14) ;;
    docs) packages=(doxygen) ;;
    screenshot) packages=(chromium) ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
