#!/usr/bin/env bash
# deps.sh - install the Debian packages cffi's build, tests and demo need, if any is missing.
# Usage: scripts/deps.sh [demo|test|bench]   (each a superset of the one before)
set -euo pipefail
what=${1:-test}

packages=(build-essential cmake pkg-config lua5.4 liblua5.4-dev libcapstone-dev)
if [ "$what" = test ] || [ "$what" = bench ]; then
  packages+=(clang lua-busted libffi-dev python3 luarocks valgrind)
  # clang's sanitizer and libFuzzer runtimes: only recommended by clang, and we install without
  # recommendations (fuzz targets, ThreadSanitizer build, clang-built random tests under ASan).
  packages+=(libclang-rt-14-dev)
  packages+=(gcc-multilib) # the i386 build (scripts/test.d/10-i386.sh); its libraries come from a sysroot
  # The Windows builds (scripts/test.d/30-windows.sh): mingw-w64 compilers (C, and C++ for the
  # exception test), wine64 to run the x86-64 tests; Lua and Capstone are built from Debian's
  # sources (scripts/mingw-deps.sh), which needs apt's deb-src access only.
  packages+=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 gcc-mingw-w64-i686 wine64)
  # The AArch64 build (scripts/test.d/40-aarch64.sh): binutils and the C library of the target
  # (its compiler is unpacked into a cache: Debian's cross compilers conflict with gcc-multilib);
  # its Lua comes from a sysroot, and its programs run under qemu-aarch64 where this is not arm64.
  packages+=(binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-s1-arm64-cross)
  # The 32-bit ARM build (scripts/test.d/50-armhf.sh), the same way.
  packages+=(binutils-arm-linux-gnueabihf libc6-dev-armhf-cross libgcc-s1-armhf-cross)
  [ "$(dpkg --print-architecture)" = arm64 ] || packages+=(qemu-user)
fi
if [ "$what" = bench ]; then
  packages+=(luajit) # the peer the benchmarks compare Lua callbacks and creation against
fi

sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
updated=no
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "cffi: installing ${missing[*]}"
  if [ $updated = no ]; then $sudo apt-get update -qq; updated=yes; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
install_missing "${packages[@]}"

# Some x86-64 kernels refuse i386 programs ("Exec format error") even with IA32 emulation
# configured. The i386 configuration then runs its programs under qemu-i386
# (cmake/emulator.cmake decides at configure time); install it only where it is needed.
if [ "$what" = test ]; then
  probe_dir=$(mktemp -d)
  trap 'rm -rf "$probe_dir"' EXIT
  echo 'int main(void) { return 42; }' >"$probe_dir/probe.c"
  if gcc -m32 -o "$probe_dir/probe" "$probe_dir/probe.c" 2>/dev/null; then
    rc=0; "$probe_dir/probe" 2>/dev/null || rc=$?
    if [ "$rc" != 42 ]; then install_missing qemu-user; fi
  fi
fi
