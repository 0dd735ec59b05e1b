#!/bin/sh
# emulated-run.sh NAME EMULATOR-COMMAND... -- PROGRAM [ARGS...] - runs one of a cross build's test programs
# under its emulator (cmake/testing.cmake makes this CTest's CMAKE_CROSSCOMPILING_EMULATOR).
#
# LeakSanitizer's exit-time check stops the world by tracing the process's threads, which
# qemu-user 7.2 does not emulate: an ASan program spins forever after main returns. Under the
# emulator the leak check is therefore off, and a program built with ASan says so in its output;
# everything else ASan and UBSan check still runs. Leaks are checked by the native ASan
# configuration, which runs the same tests.
name=$1
shift
# Move the emulator's words behind the program's: "$@" becomes PROGRAM ARGS... EMULATOR...
n=0
while [ "$1" != -- ]; do set -- "$@" "$1"; shift; n=$((n + 1)); done
shift
program=$1
# Tests skip the parts this emulator cannot show (spec/c/check.h).
CFFI_TEST_EMULATOR=$name
export CFFI_TEST_EMULATOR
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
# Rotate the emulator's words back to the front.
i=0
total=$#
while [ $i -lt $((total - n)) ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
if grep -q __asan_init "$program" 2>/dev/null; then
  echo "cffi: note: leak check off: LeakSanitizer hangs under $name emulation (qemu-user); the native ASan configuration checks leaks" >&2
fi
exec "$@"
