#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) in build-fuzz/ and
# runs each for a bounded time on a scratch copy of its seed corpus.
#   bash scripts/fuzz.sh            30 s per target
#   bash scripts/fuzz.sh 600        10 min per target
# Exits non-zero if any target reports a finding; crash inputs are kept in
# build-fuzz/artifacts/<target>/. The repository's corpus is never written.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "usage: $0 [seconds per target]" >&2; exit 2; }

bash scripts/deps.sh fuzz  # the build's packages plus clang-14 and libFuzzer

dir=build-fuzz
# Every option is given, so that a cache left by another command cannot change them.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCURLASIO_BUILD_FUZZERS=ON -DCURLASIO_BUILD_TESTS=OFF -DCURLASIO_BUILD_EXAMPLES=OFF \
    -DCURLASIO_BUILD_BENCH=OFF -DCURLASIO_SANITIZE=address,undefined >/dev/null
cmake --build "$dir" -j2 --target socket_table_fuzz transfer_fuzz

export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
summary=()
for target in socket_table_fuzz transfer_fuzz; do
    name=${target%_fuzz}
    corpus=$scratch/$name
    mkdir -p "$corpus"
    cp fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
    artifacts=$dir/artifacts/$name
    mkdir -p "$artifacts"
    extra=()
    [[ "$name" != transfer ]] || extra+=(-dict=fuzz/http.dict)
    log=$scratch/$name.log
    echo "== $target: ${seconds}s"
    # -timeout: one input beyond 30 s is a hang (transfers have a 2 s deadline).
    status=0
    started=$SECONDS
    "$dir/fuzz/$target" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${extra[@]}" "$corpus" >"$log" 2>&1 || status=$?
    took=$((SECONDS - started))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    line="$target: ${runs:-?} executions in ${took}s (${rate:-?}/s), ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs"
    if ((status != 0)); then
        line+=" -- FAILED (exit $status)"
        failed+=("$target")
        echo "---- last lines of the $target log ----"
        grep -v '^"' "$log" | tail -40
        echo "---- crash inputs: $artifacts/ (replay: $dir/fuzz/$target <file>)"
    fi
    echo "$line"
    summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "findings in: ${failed[*]}" >&2
    exit 1
fi
