#!/usr/bin/env bash
# deps.sh - install the Debian packages cffi's build, tests and demo need, if any is missing.
# Usage: scripts/deps.sh [demo|test]   (test is a superset of demo)
set -euo pipefail
what=${1:-test}

packages=(build-essential cmake pkg-config lua5.4 liblua5.4-dev libcapstone-dev)
if [ "$what" = test ]; then
  packages+=(clang lua-busted libffi-dev python3 luarocks valgrind)
  packages+=(gcc-multilib) # the i386 build (scripts/test.d/10-i386.sh); its libraries come from a sysroot
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
