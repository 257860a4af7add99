#!/usr/bin/env bash
# Runs one example against local peers and checks what it prints, for ctest
# (examples/CMakeLists.txt), so that the programs and the README's snippets
# taken from them keep working.
#   run_example.sh start DIR                 httpbin under gunicorn on a free loopback port
#   run_example.sh stop DIR
#   run_example.sh run DIR NAME PROGRAM      one example, its output checked
# Without gunicorn or python3-httpbin every case is skipped (exit 77).
set -uo pipefail
cmd=$1 dir=$2
skip=77

start() {
    [[ -x /usr/bin/gunicorn && -f /usr/lib/python3/dist-packages/httpbin/__init__.py ]] || {
        echo "skipped: no gunicorn or python3-httpbin"
        return 0
    }
    mkdir -p "$dir"
    local port
    for _ in 1 2 3; do
        port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        # Detached from ctest's pipes, which ctest would otherwise wait on.
        setsid /usr/bin/gunicorn --bind "127.0.0.1:$port" --workers 1 --threads 8 --graceful-timeout 1 \
            --chdir / httpbin:app >"$dir/httpbin.log" 2>&1 </dev/null &
        echo $! >"$dir/httpbin.pid"
        # Until it answers (a second or two on a loaded machine).
        if curl -sf --retry 40 --retry-connrefused --retry-delay 0 --retry-max-time 20 \
            "http://127.0.0.1:$port/get" >/dev/null; then
            echo "http://127.0.0.1:$port" >"$dir/httpbin.url"
            return 0
        fi
        stop
    done
    echo "httpbin did not start"
    return 1
}

stop() {
    if [[ -f "$dir/httpbin.pid" ]]; then
        local pid
        pid=$(cat "$dir/httpbin.pid")
        kill "$pid" 2>/dev/null
        # Until it is gone (its graceful timeout is 1 s), so no worker outlives the tests.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$dir/httpbin.pid" "$dir/httpbin.url"
    return 0
}

# Runs "$@" with a bound time, shows its output, and checks that it exited
# with 0 and printed each of the expected lines (extended regexps).
expect() {
    local out rc=0
    local count=$1
    shift
    local patterns=("${@:1:count}")
    shift "$count"
    out=$(timeout 30 "$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) || { echo "FAIL: exit status $rc"; return 1; }
    for p in "${patterns[@]}"; do
        grep -Eq -- "$p" <<<"$out" || { echo "FAIL: no line matches: $p"; return 1; }
    done
}

run() {
    local name=$1 prog=$2 url
    [[ -f "$dir/httpbin.url" ]] || { echo "skipped: no httpbin"; exit $skip; }
    url=$(cat "$dir/httpbin.url")
    case $name in
    quickstart) expect 2 '^GET 200, [0-9]+ bytes' '^POST 200' "$prog" "$url/anything" ;;
    timeouts)
        expect 3 '^deadline: 200' '^race: 200 before the timer' '^signal: cancelled' "$prog" "$url/get" ;;
    # 503 every time: the retries, their backoff, and the last answer.
    retry) expect 2 '^attempt 1: 503, again in' '^503 after 4 attempt' "$prog" "$url/status/503" ;;
    admission) expect 1 '^100 x 200$' "$prog" "$url/get" 100 ;;
    engine_pool) expect 1 '^64 of 64 fetches ok' "$prog" "$url/get" ;;
    beast_fetch) expect 2 '200 OK' 'bytes from http://127.0.0.1:[0-9]+/get in' "$prog" "$url" /get ;;
    json_api)
        expect 3 '^200 args: \{"lang":"c\+\+","q":"rock & roll"\}' '^200 \{' '"form"|"files"|"args"' "$prog" "$url" ;;
    session)
        rm -f "$dir/cookies.txt"
        expect 2 '^login: 200' '^me: 200' "$prog" "$url/anything/v1/" "$dir/cookies.txt" ;;
    stream_download)
        # The body on stdout, all of it; the status on stderr.
        local rc=0 n
        timeout 30 "$prog" "$url/bytes/100000" >"$dir/body" 2>"$dir/err" || rc=$?
        n=$(wc -c <"$dir/body")
        cat "$dir/err"
        echo "stdout: $n bytes, exit status $rc"
        ((rc == 0 && n == 100000)) && grep -q '^200 OK' "$dir/err" ;;
    stream_upload)
        expect 1 '^200 \{' sh -c 'head -c 2000 /dev/zero | tr "\0" a | "$0" "$1"' "$prog" "$url/put" ;;
    hiperfifo)
        local fifo=$dir/hiper.fifo
        rm -f "$fifo"
        (
            for _ in $(seq 100); do [[ -p $fifo ]] && break; sleep 0.1; done
            printf '%s\n' "$url/get" "$url/status/404" quit >"$fifo"
        ) &
        expect 3 '^200 .*/get$' '^404 .*/status/404$' 'hiperfifo: done' "$prog" "$fifo" ;;
    # Without URLs: a batch from its own embedded loopback server.
    fetch) expect 1 '' "$prog" -c 50 -n 8 ;;
    *) echo "no case for $name"; return 1 ;;
    esac
}

case $cmd in
start) start ;;
stop) stop ;;
run) run "$3" "$4" ;;
*) echo "usage: run_example.sh start|stop|run DIR [NAME PROGRAM]"; exit 2 ;;
esac
