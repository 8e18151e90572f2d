#!/bin/bash
# A fresh Debian chroot (debootstrap, minbase) in which to try the README's
# commands as a new user of that release would: a clean clone of this
# repository's HEAD (committed work only) inside it, run as root, with the
# host's /proc, /sys and /dev.
# The chroot is made once and kept under the cache (rebuilt with FRESH=1);
# the project's download cache (kernels, QEMU tarball) is its own.
#
# Usage: scripts/debian-chroot.sh RELEASE [COMMAND...]
#   RELEASE   bookworm or trixie
#   COMMAND   run in the clone (default: make demo), e.g.
#             scripts/debian-chroot.sh trixie make demo
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
release=${1:?usage: scripts/debian-chroot.sh bookworm|trixie [COMMAND...]}
shift
case "$release" in
bookworm|trixie) ;;
*) echo "debian-chroot: bookworm or trixie, not '$release'" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- make demo
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
mkdir -p "$cache"
root=$cache/chroot-$release

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/sbin/debootstrap ]; then
    as_root apt-get update -q >/dev/null
    as_root apt-get install -y -q debootstrap >/dev/null
fi
mirror=$(bash -c ". <(sed -n '/^debian_mirror()/,/^}/p' '$top/scripts/deps.sh'); debian_mirror")
mirror=${mirror:-http://deb.debian.org/debian}

unmount_all() {
    local m
    for m in dev/pts dev sys proc; do
        if mountpoint -q "$root/$m"; then as_root umount -l "$root/$m" || true; fi
    done
    if mountpoint -q "$root"; then as_root umount -l "$root" || true; fi
}
# one run per chroot at a time
exec 9> "$root.lock"
flock -n 9 || { echo "debian-chroot: $root is in use" >&2; exit 1; }
trap unmount_all EXIT

if [ -n "${FRESH:-}" ] || [ ! -e "$root/.made" ]; then
    unmount_all
    if grep -qF " $root/" /proc/self/mountinfo; then
        echo "debian-chroot: something is still mounted under $root" >&2
        exit 1
    fi
    as_root rm -rf --one-file-system "$root"
    echo "debian-chroot: debootstrap $release from $mirror into $root" >&2
    as_root debootstrap --variant=minbase --include=git,make,ca-certificates \
        "$release" "$root" "$mirror" >/dev/null
    # the release's own suites, as a fresh install has them
    as_root tee "$root/etc/apt/sources.list" >/dev/null <<EOS
deb $mirror $release main
deb $mirror $release-updates main
EOS
    case "$mirror" in
    */deb.debian.org/debian)
        echo "deb ${mirror%/debian}/debian-security $release-security main" |
            as_root tee -a "$root/etc/apt/sources.list" >/dev/null ;;
    esac
    # no daemons started by packages' scripts inside the chroot
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$root/usr/sbin/policy-rc.d" >/dev/null
    as_root chmod +x "$root/usr/sbin/policy-rc.d"
    as_root touch "$root/.made"
fi

# libvirt's per-domain mount namespace cannot populate its own /dev in a
# chroot (QEMU then fails with "Failed to open /dev/null"): once apt has
# installed libvirt's QEMU driver in the chroot, its qemu.conf turns
# namespaces off. A chroot's limit, not a Debian 13 host's.
as_root tee "$root/etc/apt/apt.conf.d/99qemu-viommu-chroot" >/dev/null <<'EOS'
DPkg::Post-Invoke { "f=/etc/libvirt/qemu.conf; if [ -f $f ] && ! grep -q '^namespaces' $f; then echo 'namespaces = [ ]  # qemu-viommu chroot' >> $f; fi"; };
EOS
# the chroot's / a mount point of its own, as a system's root is: libvirt
# makes a mount namespace for each domain and changes the propagation of /
# (EINVAL on a directory that is not a mount point)
mountpoint -q "$root" || as_root mount --bind "$root" "$root"
for m in proc sys dev dev/pts; do
    mountpoint -q "$root/$m" || as_root mount --bind "/$m" "$root/$m"
done
as_root cp /etc/resolv.conf "$root/etc/resolv.conf"
as_root rm -rf "$root/root/qemu-viommu"
as_root git -c safe.directory="$top" clone -q --no-hardlinks "$top" \
    "$root/root/qemu-viommu"
# shellcheck disable=SC2016
as_root chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb bash -c 'cd /root/qemu-viommu && "$@"' bash "$@"
