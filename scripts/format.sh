#!/usr/bin/env bash
# Formats every C++ file of the tree as .clang-format says (clang-format-14).
# With --check it changes nothing and fails on the first file that differs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh format
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [[ "${1:-}" == --check ]]; then
    clang-format-14 --dry-run --Werror "${files[@]}"
    echo "format: ${#files[@]} files follow .clang-format"
else
    clang-format-14 -i "${files[@]}"
fi
