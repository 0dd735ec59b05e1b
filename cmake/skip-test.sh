#!/bin/sh
# skip-test.sh REASON [program args...] - stands in for a test this host cannot run: prints why
# and exits 77, which every cffi test treats as "skipped" (cmake/testing.cmake). The program and
# its arguments, when given, are ignored.
echo "cffi: skipped: $1"
exit 77
