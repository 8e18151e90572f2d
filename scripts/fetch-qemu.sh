#!/bin/bash
# Brings the pinned QEMU source (Debian's qemu 10.0.2+ds orig tarball from
# bookworm-backports) into the cache, verified by sha256, and prints its path.
# Fallback of the same stable series if the backports tarball disappears:
# trixie's qemu source package 10.0.13+ds (complete with its .dsc), e.g.
#   apt-get source --download-only qemu=1:10.0.13+ds-*   (needs deb-src for trixie)
# then set QEMU_TARBALL=/path/to/qemu_10.0.13+ds.orig.tar.xz and QEMU_SHA256.
set -euo pipefail

QEMU_VERSION=10.0.2
QEMU_TARBALL_NAME=qemu_${QEMU_VERSION}+ds.orig.tar.xz
QEMU_SHA256=${QEMU_SHA256:-0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1}
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
dest=${QEMU_TARBALL:-$cache/$QEMU_TARBALL_NAME}

verify() {
    echo "$QEMU_SHA256  $1" | sha256sum -c --status
}

if [ -f "$dest" ] && verify "$dest"; then
    echo "$dest"
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/deps.sh
mirror=$(bash -c ". <(sed -n '/^debian_mirror()/,/^}/p' '$here/deps.sh'); debian_mirror")
[ -n "$mirror" ] || { echo "fetch-qemu: apt has no Debian mirror configured" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
tmp=$dest.part
echo "fetch-qemu: downloading $QEMU_TARBALL_NAME from the Debian archive" >&2
curl -sSf --retry 3 -o "$tmp" "$mirror/pool/main/q/qemu/$QEMU_TARBALL_NAME"
if ! verify "$tmp"; then
    echo "fetch-qemu: sha256 mismatch for $QEMU_TARBALL_NAME (expected $QEMU_SHA256)" >&2
    rm -f "$tmp"
    exit 1
fi
mv "$tmp" "$dest"
echo "$dest"
