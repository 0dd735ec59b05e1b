#!/bin/sh
# rockspec_check.sh SRC WORK - build and install rockspec/cffi-scm-1.rockspec with luarocks,
# offline, from a copy of the source tree into a private tree, then load the installed module.
# Exits 77 (skipped) where luarocks is absent.
set -eu
src=$1 work=$2
command -v luarocks >/dev/null 2>&1 || { echo "luarocks not installed: skipped"; exit 77; }
lua=${CFFI_LUA:-lua5.4}
rm -rf "$work"
mkdir -p "$work/src"
# A copy without build directories or VCS data, so luarocks' build.luarocks stays out of the tree.
(cd "$src" && tar --exclude='./build*' --exclude='./.git' -cf - .) | (cd "$work/src" && tar -xf -)
cd "$work/src"
luarocks --lua-version 5.4 make rockspec/cffi-scm-1.rockspec --tree "$work/tree"
so=$(find "$work/tree" -name cffi.so | head -n 1)
[ -n "$so" ] || { echo "cffi.so was not installed"; exit 1; }
LUA_CPATH="$(dirname "$so")/?.so" "$lua" -e '
  local cffi = require "cffi"
  local cb = cffi.wrap(function(a, b) return a + b end, "int(int, int)")
  assert(cb(2, 3) == 5, "installed module does not work")
  print("installed cffi works: " .. tostring(cb))'
