#!/usr/bin/env bash
# bench.sh - build cffi in Release (build-bench/) and run every benchmark side by side: the C
# benchmark (cffi closures, typed thunks, libffi, the Lua module), LuaJIT's ffi callbacks and
# Python ctypes when those are installed, and memory with 1,000,000 live closures. Prints one
# Markdown table of ratios (bench/report.lua); raw records go to build-bench/bench/records.txt.
#
# Environment: BENCH_ROUNDS (default 7), BENCH_SAMPLE_MS (default 10), BENCH_LIVE (1000000),
# BENCH_ICOUNT=1 to add instructions per operation counted by callgrind (bench/icount.sh).
# Timings on a shared machine are noisy: compare ratios, never absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
rounds=${BENCH_ROUNDS:-7}
sample_ms=${BENCH_SAMPLE_MS:-10}
live=${BENCH_LIVE:-1000000}
dir=build-bench

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCFFI_BUILD_BENCH=ON -DCFFI_BUILD_TESTS=OFF \
  >/dev/null
cmake --build "$dir" -j"$(nproc)" --target bench_cffi cffi_bench_loops >/dev/null

bin=$dir/bench/bench_cffi
loops=$(realpath "$dir/bench/libcffi_bench_loops.so")
records=$dir/bench/records.txt
: >"$records"

echo "cffi bench: C, libffi and Lua (rounds $rounds, ${sample_ms} ms per sample)" >&2
{ echo "process cffi"; "$bin" --rounds "$rounds" --sample-ms "$sample_ms"; } >>"$records"
if command -v luajit >/dev/null; then
  echo "cffi bench: LuaJIT" >&2
  { echo "process luajit"; luajit bench/luajit_bench.lua "$loops" "$rounds" "$sample_ms"; } \
    >>"$records"
fi
if command -v python3 >/dev/null; then
  echo "cffi bench: Python ctypes" >&2
  { echo "process ctypes"; python3 bench/ctypes_bench.py "$loops" "$rounds" "$sample_ms"; } \
    >>"$records"
fi
echo "cffi bench: memory with $live live closures" >&2
for what in cffi libffi lua; do
  "$bin" --mem "$what" "$live" >>"$records"
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
machine="${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr)"
lua5.4 bench/report.lua "$records" "$machine"
if [ "${BENCH_ICOUNT:-0}" = 1 ] && command -v valgrind >/dev/null; then
  echo
  echo "**Instructions per operation** (callgrind; reproducible on any load):"
  echo
  bench/icount.sh "$bin"
fi
