#!/bin/bash
# Brings the pinned QEMU source (scripts/qemu-pin.sh: Debian's orig tarball,
# from the pool of the mirror apt uses) into the cache, verified by sha256,
# and prints its path. QEMU_TARBALL and QEMU_SHA256 point it at another.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/qemu-pin.sh
. "$here/qemu-pin.sh"
QEMU_SHA256=${QEMU_SHA256:-$QEMU_SHA256_PINNED}
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
dest=${QEMU_TARBALL:-$cache/$QEMU_TARBALL_NAME}

verify() {
    echo "$QEMU_SHA256  $1" | sha256sum -c --status
}

if [ -f "$dest" ] && verify "$dest"; then
    echo "$dest"
    exit 0
fi

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
