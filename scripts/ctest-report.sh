#!/usr/bin/env bash
# ctest-report.sh <build-dir> <ctest-output-file> - after a CTest run, the configuration's counts
# and, for every reason a test gave for skipping, that reason and the tests that gave it (CTest
# itself names skipped tests but not why). Its last line is "<dir>: P passed, F failed, S skipped".
set -euo pipefail
dir=$1 out=$2
log="$dir/Testing/Temporary/LastTest.log"
passed=$(grep -c ' Passed  ' "$out" || true)
skipped_names=$(sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$out")
failed=$(grep -E '^ *[0-9]+/[0-9]+ Test *#' "$out" | grep -v ' Passed  ' | grep -vc '\*\*\*Skipped' || true)
skipped=$(printf '%s\n' $skipped_names | grep -c . || true)
for name in $skipped_names; do
  # The last line the test printed is its reason (cmake/skip-test.sh, mdwe_exec, check.h, ...).
  reason=$(awk -v t="$name" '
    $0 ~ "^[0-9]+/[0-9]+ Test: " && $3 == t { want = 1; next }
    want && /^Output:/ { out = 1; getline; next }
    want && out && /^<end of output>/ { exit }
    want && out && NF { last = $0 }
    END { print last }' "$log")
  reason=${reason#cffi: skipped: }
  printf '%s\t%s\n' "${reason:-no reason printed}" "$name"
done | sort | awk -F'\t' '
  $1 != reason { if (NR > 1) print line; reason = $1; print "  skipped: " $1; line = "    tests:" }
  { line = line " " $2 }
  END { if (NR) print line }'
echo "$dir: $passed passed, $failed failed, $skipped skipped"
