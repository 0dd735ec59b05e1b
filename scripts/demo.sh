#!/usr/bin/env bash
# demo.sh - build cffi and run the demo: Lua's qsort with a Lua comparator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
if [ -f build/cffi.so ] && [ -f examples/qsort.lua ]; then
  LUA_CPATH="build/?.so;;" LUA_PATH="lua/?.lua;;" lua5.4 examples/qsort.lua
else
  build/bench/cffi_demo 2>/dev/null || build/cffi_demo
fi
