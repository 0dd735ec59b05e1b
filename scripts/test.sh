#!/usr/bin/env bash
# test.sh - build cffi in every configuration CI checks and run every test through CTest.
#   build-asan : ASan + UBSan, every C test
#   build-test : the native build, warnings as errors, every C test and busted spec
# Extra configurations (i386, hardening, ...) are added by scripts/test.d/*.sh, each ending in a
# CTest run. Each configuration is followed by its counts and the reason of every skipped test;
# the run ends with the totals over all configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
source scripts/lib.sh
export CFFI_REPORT=$PWD/build-report.txt
: >"$CFFI_REPORT"

# Every configuration runs even when one before it fails, so one failure does not hide another.
failed=()
run_config build-asan -DCFFI_SANITIZE=address,undefined -DCFFI_BUILD_BENCH=OFF -DCFFI_BUILD_LUA=OFF ||
  failed+=(build-asan)
for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  echo "== cffi: $extra"
  bash "$extra" || failed+=("$extra")
done
run_config build-test || failed+=(build-test)

echo "== cffi: every configuration"
cat "$CFFI_REPORT"
[ ${#failed[@]} -eq 0 ] || echo "cffi: failed: ${failed[*]}"
# The totals over every configuration, in CTest's own summary form.
awk '/: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $(NF-5); f += $(NF-3); s += $(NF-1) }
  END {
    n = p + f + s
    printf "totals: %d passed, %d failed, %d skipped\n", p, f, s
    printf "%d%% tests passed, %d tests failed out of %d\n", n ? int(100 * (p + s) / n) : 100, f, n
  }' "$CFFI_REPORT"
[ ${#failed[@]} -eq 0 ]
