#!/usr/bin/env bash
# demo.sh - build cffi and its Lua module, then sort a Lua array with libc's qsort and a Lua
# comparator (examples/qsort.lua).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_BUILD_TESTS=OFF -DCFFI_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)"
LUA_CPATH="build/?.so;;" LUA_PATH="lua/?.lua;;" lua5.4 examples/qsort.lua
