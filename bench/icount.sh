#!/usr/bin/env bash
# icount.sh - instructions per operation of bench_cffi cases, counted by callgrind: reproducible
# where wall-clock times on a shared machine are not. Each case runs twice (N and 2N operations)
# and the difference is divided by N, so start-up and setup cancel out.
# Usage: bench/icount.sh <bench_cffi> [N] [KEY...]   (default: the cases the goals compare)
set -euo pipefail
bin=$1
n=${2:-20000}
shift $(( $# >= 2 ? 2 : 1 ))
keys=("$@")
if [ ${#keys[@]} -eq 0 ]; then
  keys=(call.ii.direct call.ii.typed call.ii.closure call.ii.libffi call.ii.lua call.ii.luafloor
        call.mix.direct call.mix.typed call.mix.closure call.mix.libffi call.mix.lua
        call.mix.luafloor l2n.ii.hand l2n.ii.cast l2n.ii.call
        create.closure create.typed create.libffi create.wrap create.wrapfloor)
fi

count() {  # key, n -> total instructions of the run
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --only "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : *//p'
}

echo "| case | instructions per operation |"
echo "| --- | --- |"
for key in "${keys[@]}"; do
  a=$(count "$key" "$n")
  b=$(count "$key" $((2 * n)))
  echo "| $key | $(( (b - a) / n )) |"
done
