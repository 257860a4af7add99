#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages a build needs (and, given
# "test", what the tests need; given "fuzz", clang and libFuzzer; given "format", only clang-format;
# given "docs", only doxygen; given "screenshot", only chromium). Installs only
# what is missing, so it is cheap and safe to run again.
# Given "curl8": unpacks libcurl 8 from Debian's bookworm-backports (the
# version Debian 13 ships, same soname and ABI) into $CURL8_DIR, beside the
# system's 7.88, which stays installed and the default (see scripts/test.sh).
set -euo pipefail

sudo_cmd=()
[[ $(id -u) == 0 ]] || sudo_cmd=(sudo)

if [[ "${1:-}" == curl8 ]]; then
    dir=${CURL8_DIR:-/opt/curlasio-curl8}
    lib=$dir/usr/lib/x86_64-linux-gnu
    [[ -e $lib/libcurl.so && -e $dir/usr/include/x86_64-linux-gnu/curl/curl.h ]] && exit 0
    # The suite from the archive the machine's own Debian sources name.
    uri=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    uri=${uri:-http://deb.debian.org/debian}
    list=/etc/apt/sources.list.d/curlasio-bookworm-backports.sources
    if [[ ! -e $list ]]; then
        # Backports are pinned below the release by apt's defaults (priority
        # 100): nothing installed is upgraded from them.
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$uri" | "${sudo_cmd[@]}" tee "$list" >/dev/null
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # The runtime library and its headers; every other dependency of theirs
    # (nghttp2 >= 1.50, OpenSSL 3, ...) is met by Debian 12's own packages.
    (cd "$tmp" && chmod 777 . && apt-get download -qq libcurl4/bookworm-backports libcurl4-openssl-dev/bookworm-backports)
    "${sudo_cmd[@]}" mkdir -p "$dir"
    for deb in "$tmp"/*.deb; do "${sudo_cmd[@]}" dpkg -x "$deb" "$dir"; done
    echo "libcurl $(basename "$tmp"/libcurl4_*.deb) unpacked in $dir"
    exit 0
fi

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
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
