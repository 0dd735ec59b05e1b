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
fi
if [ "$what" = bench ]; then
  packages+=(luajit) # the peer the benchmarks compare Lua callbacks and creation against
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cffi: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
