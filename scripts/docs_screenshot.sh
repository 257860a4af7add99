#!/usr/bin/env bash
# Screenshots of the reference (bash scripts/docs.sh builds it first): the
# front page and the async_fetch page (the group of its seven overloads,
# the engine's first with its contract sections), whole and at the first
# entry, taken by headless Chromium (Debian's chromium, installed with
# apt-get through scripts/deps.sh screenshot) into build-doc/screenshots/.
#   bash scripts/docs_screenshot.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ${1:-} == --no-build ]] || bash scripts/docs.sh
bash scripts/deps.sh screenshot

out=build-doc/screenshots
mkdir -p "$out"
html=$PWD/build-doc/html
shoot() { # shoot PAGE PNG HEIGHT
    # A profile of its own in a temporary directory, so that no state of a
    # browser run elsewhere is read or written; --no-sandbox for root.
    local profile
    profile=$(mktemp -d)
    chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$profile" --window-size=1280,"$3" \
        --screenshot="$PWD/$out/$2" "file://$html/$1" 2>/dev/null
    rm -rf "$profile"
    [[ -s $out/$2 ]] || { echo "docs_screenshot: no $out/$2" >&2; exit 1; }
    echo "docs_screenshot: $out/$2"
}
shoot index.html index.png 1000
shoot group__async__fetch.html async_fetch.png 3200
# The first overload's entry (async_fetch on an engine) at its anchor: its
# signature and contract sections at a readable size.
anchor=$(grep -o '<a id="ga[0-9a-f]*"' "$html/group__async__fetch.html" | head -1 | cut -d'"' -f2)
shoot "group__async__fetch.html#$anchor" async_fetch_engine.png 1500
