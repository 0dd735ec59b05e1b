#!/usr/bin/env bash
# mingw-deps.sh - build what a Windows build of cffi needs and Debian ships only as source: Lua 5.4
# (lua54.dll, lua.exe, headers), Capstone (static, x86 only) and the C modules busted loads (lfs,
# term.core, system.core), cross-compiled with a mingw-w64 toolchain into <prefix>.
# Idempotent: a finished prefix (marked by .complete, which records the triple and this script's
# stamp) is left alone.
#
# Usage: scripts/mingw-deps.sh <triple> <prefix>
#   e.g. scripts/mingw-deps.sh x86_64-w64-mingw32 ~/.cache/cffi/mingw-x86_64-w64-mingw32-<hash>
#
# The sources come from Debian's source packages through a private apt configuration (deb-src
# lines for the archive this machine already uses; the host's apt state is not touched). Debian's
# mirror lacks lua-system's upstream tarball, so system.core is built from
# spec/support/windows/system_core.c: the three functions busted calls.
#
# <prefix> afterwards:
#   bin/lua.exe bin/lua54.dll       the interpreter and the Lua DLL modules link against
#   include/ lib/liblua54.dll.a     Lua's headers and lua54.dll's import library
#   include/capstone lib/libcapstone.a lib/pkgconfig/capstone.pc
#   lua/lfs.dll lua/term/core.dll lua/system/core.dll
set -euo pipefail

triple=${1:?usage: $0 <triple> <prefix>}
prefix=${2:?usage: $0 <triple> <prefix>}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

stamp="$prefix/.complete"
stamp_version=1 # bump when what is built below changes
want="$stamp_version $triple"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
cc=$triple-gcc
command -v "$cc" >/dev/null || { echo "cffi: $cc is not installed (Debian: mingw-w64)" >&2; exit 1; }

work="$prefix/.src"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/sources.d"

# The archive this machine's apt already uses, as deb-src lines (deb822 or one-line sources).
archive=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
[ -n "$archive" ] || archive=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
  awk '{print $2}' | grep -v security | head -1)
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
[ -n "$archive" ] && [ -n "$suite" ] || { echo "cffi: cannot tell which Debian archive apt uses" >&2; exit 1; }
cat >"$work/apt/sources.d/cffi-src.sources" <<EOF
Types: deb-src
URIs: $archive
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$work/apt/sources.d"
  -o "Dir::State::Lists=$work/apt/lists"
  -o "Dir::Cache=$work/apt/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)"
)
echo "cffi: fetching Debian sources for $triple into $work"
apt-get -qq "${apt_opts[@]}" update
# Only the upstream tarballs are needed (Debian's patch sets are not): --download-only, then
# unpack the .orig by hand, which also works where the mirror lacks a .debian.tar.
fetch() {  # source-package
  (cd "$work" && apt-get -qq "${apt_opts[@]}" source --download-only "$1" >/dev/null 2>&1 || true)
  local orig
  orig=$(ls "$work/$1"_*.orig.tar.* 2>/dev/null | head -1)
  [ -n "$orig" ] || { echo "cffi: the mirror has no upstream source of $1" >&2; return 1; }
  mkdir -p "$work/$1" && tar xf "$orig" -C "$work/$1" --strip-components=1
}
fetch lua5.4
fetch capstone
fetch lua-filesystem
fetch lua-term

jobs=$(nproc)
mkdir -p "$prefix/bin" "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lua/term" "$prefix/lua/system"

echo "cffi: building Lua 5.4 for $triple"
make -s -C "$work/lua5.4/src" -j"$jobs" mingw CC="$cc" \
  MYCFLAGS=-O2 >/dev/null
# The DLL again from the same objects, with the import library a module links against (Lua's
# makefile makes none).
(cd "$work/lua5.4/src" && "$cc" -shared -s -o lua54.dll $(ls *.o | grep -v -e '^lua\.o$' -e '^luac\.o$') \
  -Wl,--out-implib,liblua54.dll.a)
cp "$work/lua5.4/src/lua.exe" "$work/lua5.4/src/lua54.dll" "$prefix/bin/"
cp "$work/lua5.4/src/liblua54.dll.a" "$prefix/lib/"
cp "$work/lua5.4/src/"{lua.h,luaconf.h,lualib.h,lauxlib.h} "$prefix/include/"
cat >"$prefix/lib/pkgconfig/lua5.4.pc" <<EOF
prefix=$prefix
Name: Lua
Description: Lua 5.4 for $triple (lua54.dll)
Version: 5.4
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib -llua54
EOF

echo "cffi: building Capstone (x86 only) for $triple"
# Compiled file by file rather than through Capstone's CMake project, which also wants a C++
# compiler for its tests: the engine plus the X86 module, as its CMakeLists.txt lists them.
cap=$work/capstone
mkdir -p "$work/capstone-build" "$prefix/include/capstone"
(cd "$cap" && printf '%s\n' cs.c MCInst.c MCInstrDesc.c MCRegisterInfo.c SStream.c utils.c arch/X86/*.c) |
  while read -r src; do
    echo "$cc -O2 -DCAPSTONE_HAS_X86 -DCAPSTONE_USE_SYS_DYN_MEM -I$cap/include -c $cap/$src -o $work/capstone-build/${src//\//_}.o"
  done | xargs -P "$jobs" -I{} sh -c {}
rm -f "$prefix/lib/libcapstone.a"
"$triple-ar" rcs "$prefix/lib/libcapstone.a" "$work/capstone-build/"*.o
cp "$cap/include/capstone/"*.h "$prefix/include/capstone/"
cat >"$prefix/lib/pkgconfig/capstone.pc" <<EOF
prefix=$prefix
Name: capstone
Description: Capstone disassembler (x86 only) for $triple
Version: 4.0.2
Cflags: -I\${prefix}/include -I\${prefix}/include/capstone
Libs: -L\${prefix}/lib -lcapstone
EOF

echo "cffi: building busted's C modules for $triple"
module() {  # output source...
  local out=$1; shift
  "$cc" -O2 -shared -o "$prefix/lua/$out" -I"$prefix/include" "$@" "$prefix/lib/liblua54.dll.a"
}
module lfs.dll "$work/lua-filesystem/src/lfs.c"
module term/core.dll "$work/lua-term/core.c"
module system/core.dll "$here/spec/support/windows/system_core.c"

rm -rf "$work"
echo "$want" >"$stamp"
echo "cffi: $triple dependencies ready in $prefix"
