#!/usr/bin/env bash
# i386-sysroot.sh - fetch Debian's i386 packages the x86-32 build needs and unpack them into a
# sysroot inside the build tree. Idempotent: a finished sysroot (marked by .complete, which
# records the package list) is left alone.
#
# Usage: scripts/i386-sysroot.sh <sysroot-dir>
#
# Multiarch installs of i386 -dev packages can fail on Debian hosts through version skew, so
# nothing is installed: apt runs with a private state directory (its own i386 package lists and
# cache under <sysroot-dir>/.apt), `apt-get download` fetches the .debs and `dpkg -x` unpacks
# them. The host's dpkg database and apt configuration are not touched; no root is needed.
#
# The compiler side (gcc -m32, the i386 libc) comes from the host's gcc-multilib.
set -euo pipefail

root=${1:?usage: $0 <sysroot-dir>}
mkdir -p "$root"
root=$(cd "$root" && pwd)

# Headers + libraries to build against, the interpreter and the C modules busted loads, and the
# shared libraries those need at run time that multilib does not provide.
packages=(
  liblua5.4-dev liblua5.4-0 lua5.4 libreadline8 libtinfo6
  libcapstone-dev libcapstone4
  libffi-dev libffi8
  lua-system lua-term lua-filesystem
)

stamp="$root/.complete"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  exit 0
fi

apt_dir="$root/.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
apt_opts=(
  -o "APT::Architecture=i386"
  -o "APT::Architectures::=i386"
  -o "Dir::State=$apt_dir"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)"
)

echo "cffi: fetching i386 packages into $root"
# A mirror in mid-sync can fail one index (e.g. the security suite) while the others arrive;
# the download below fails loudly if a package really cannot be had.
apt-get -qq "${apt_opts[@]}" update || echo "cffi: warning: some i386 package indexes failed" >&2
(cd "$apt_dir/debs" && apt-get -qq "${apt_opts[@]}" download "${packages[@]}")

for deb in "$apt_dir"/debs/*.deb; do
  dpkg -x "$deb" "$root"
done

# Debian's absolute symlinks (e.g. lib*.so -> /lib/i386-linux-gnu/...) would point out of the
# sysroot: make them relative to it.
find "$root" -path "$apt_dir" -prune -o -type l -lname '/*' -print | while read -r link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
done

echo "${packages[*]}" >"$stamp"
echo "cffi: i386 sysroot ready"
