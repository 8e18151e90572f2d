# shellcheck shell=bash
# The pinned QEMU source, sourced by scripts/fetch-qemu.sh and
# scripts/prepare-tree.sh: Debian's
# orig tarball of the 10.0 stable series (bookworm-backports' source
# package), from the pool of any Debian mirror, checked by sha256.
QEMU_VERSION=10.0.13
QEMU_SHA256_PINNED=6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae
QEMU_TARBALL_NAME=qemu_${QEMU_VERSION}+ds.orig.tar.xz
# the pristine tree under build/ (compared against, benchmarked)
QEMU_PRISTINE=qemu-$QEMU_VERSION
