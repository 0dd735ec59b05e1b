#!/bin/sh
# wine-run.sh [--path DIR]... PROGRAM [ARGS...] - run one of a Windows build's programs under
# wine64, headless, for the tests (cmake/x86_64-w64-mingw32.cmake makes it the build's emulator).
# Each --path adds a directory the program's DLLs are found in (lua54.dll).
#
# The wine prefix lives in a cache outside the build tree (CFFI_WINEPREFIX, or
# ~/.cache/cffi/wine-<wine version>): creating one takes about 20 s, so a fresh clone reuses it
# and a missing one is made on first use. A persistent wineserver (-p) keeps each later start at
# about 0.1 s instead of 3 s.
#
# Unlike qemu-user, wine runs the program's machine code on this processor: code rewritten after
# it ran is seen at once, so the tests skip nothing for it (CFFI_TEST_EMULATOR stays unset).
set -e
while [ "${1:-}" = --path ]; do
  # A Unix directory as wine names it: on drive Z:, which is /.
  WINEPATH="Z:$(printf %s "$2" | tr / '\\')${WINEPATH:+;$WINEPATH}"
  export WINEPATH
  shift 2
done
wine=${CFFI_WINE:-/usr/lib/wine/wine64}
[ -x "$wine" ] || wine=$(command -v wine64 || command -v wine || true)
if [ -z "$wine" ]; then
  echo "cffi: wine64 is not installed (Debian: wine64; scripts/deps.sh test installs it)" >&2
  exit 1
fi
if [ -z "${WINEPREFIX:-}" ]; then
  version=$("$wine" --version 2>/dev/null | awk '{print $1}')
  WINEPREFIX=${CFFI_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/cffi/wine-${version:-unknown}}
fi
export WINEPREFIX
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=} # no Mono or Gecko installer prompts
unset DISPLAY                                                  # headless: no window may open
mkdir -p "$WINEPREFIX"
# Start the server and wine's own services from a run whose standard streams lead nowhere: they
# outlive it, and must not hold the output pipe of whatever started the first test (CTest, or
# cmake's configure-time probe would wait for them forever).
server=$(dirname "$wine")/wineserver
[ -x "$server" ] || server=$(command -v wineserver || true)
if [ -n "$server" ]; then
  "$server" -p </dev/null >/dev/null 2>&1 || true
fi
"$wine" cmd.exe /c exit </dev/null >/dev/null 2>&1 || true
exec "$wine" "$@"
