# lib.sh - what scripts/test.sh and scripts/test.d/*.sh share. Sourced, not run.

# run_config <build-dir> <cmake options...>: configure (warnings as errors), build, run CTest, then
# report the configuration's counts and why each skipped test was skipped. Appends the counts to
# $CFFI_REPORT (set by scripts/test.sh) for the run's closing totals. Fails if CTest fails.
# From the environment: BUILD_TARGETS (build only these), CTEST_ARGS (e.g. -L hardening),
# CTEST_EXCLUDE (a regular expression of tests not to run).
run_config() {
  local dir=$1; shift
  echo "== cffi: configuration $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFFI_WERROR=ON "$@" >/dev/null &&
    cmake --build "$dir" -j"$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS} || return
  local out="$dir/ctest-output.txt" rc=0
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)" ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"} \
     ${CTEST_ARGS:-}) 2>&1 | tee "$out" || true
  grep -q '^100% tests passed' "$out" || rc=1
  scripts/ctest-report.sh "$dir" "$out" | tee -a "${CFFI_REPORT:-/dev/null}"
  return $rc
}
