# shellcheck shell=bash
# The pinned QEMU source, sourced by scripts/fetch-qemu.sh and
# scripts/prepare-tree.sh: Debian's
# orig tarball of the 10.0 stable series (bookworm-backports' source
# package), from the pool of any Debian mirror, checked by sha256.
QEMU_VERSION=10.0.2
QEMU_SHA256_PINNED=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
QEMU_TARBALL_NAME=qemu_${QEMU_VERSION}+ds.orig.tar.xz
# the pristine tree under build/ (compared against, benchmarked)
QEMU_PRISTINE=qemu-$QEMU_VERSION
