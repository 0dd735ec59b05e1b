#!/usr/bin/env bash
# debian-sysroot.sh - fetch Debian packages of another architecture and unpack them into a
# sysroot that a cross build compiles and links against (and that an emulator loads programs
# from). Idempotent: a finished sysroot (marked by .complete, which records the architecture and
# the package list) is left alone.
#
# Usage: scripts/debian-sysroot.sh <debian-arch> <sysroot-dir> <package>...
#   e.g. scripts/debian-sysroot.sh i386 ~/.cache/cffi/sysroot-i386 liblua5.4-dev ...
#
# Multiarch installs of foreign -dev packages can fail on Debian hosts through version skew, so
# nothing is installed: apt runs with a private state directory (its own package lists and cache
# under <sysroot-dir>/.apt), `apt-get download` fetches the .debs and `dpkg -x` unpacks them. The
# host's dpkg database and apt configuration are not touched; no root is needed.
#
# The toolchain files under cmake/ name the packages; the compilers come from the host.
set -euo pipefail

arch=${1:?usage: $0 <debian-arch> <sysroot-dir> <package>...}
root=${2:?usage: $0 <debian-arch> <sysroot-dir> <package>...}
shift 2
packages=("$@")
[ ${#packages[@]} -gt 0 ] || { echo "usage: $0 <debian-arch> <sysroot-dir> <package>..." >&2; exit 2; }
mkdir -p "$root"
root=$(cd "$root" && pwd)

stamp="$root/.complete"
stamp_version=3 # bump when the layout below changes
want="$stamp_version $arch ${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

apt_dir="$root/.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
apt_opts=(
  -o "APT::Architecture=$arch"
  -o "APT::Architectures::=$arch"
  -o "Dir::State=$apt_dir"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=$(id -un)"
)

echo "cffi: fetching $arch packages into $root"
# A mirror in mid-sync can fail one index (e.g. the security suite) while the others arrive;
# the download below fails loudly if a package really cannot be had.
apt-get -qq "${apt_opts[@]}" update || echo "cffi: warning: some $arch package indexes failed" >&2
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

echo "$want" >"$stamp"
echo "cffi: $arch sysroot ready"
