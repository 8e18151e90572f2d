#!/bin/bash
# Gathers the firmware our QEMU runs with: Debian's SeaBIOS and iPXE ROMs, and
# QEMU's x86 option ROMs (linuxboot, multiboot, kvmvapic, pvh) built from the
# pinned source, since the +ds tarball ships no binaries. They go to two places:
#   OUTDIR                      for -L OUTDIR
#   OBJ/qemu-bundle/<datadir>/  the data directory QEMU itself searches when it
#                               runs from its build tree (QEMU's bundle, laid out
#                               by meson's install-tree links), so the binaries
#                               need no -L, as an installed QEMU needs none.
# Usage: scripts/firmware.sh SRC OBJ OUTDIR
set -euo pipefail
src=$1 obj=$2 out=$3
rom=$obj/pc-bios/optionrom

if [ ! -f "$rom/config.mak" ]; then
    mkdir -p "$rom"
    cp "$src/pc-bios/optionrom/Makefile" "$rom/Makefile" 2>/dev/null || true
    cat > "$rom/config.mak" <<EOC
TOPSRC_DIR=$src
CC=gcc
CCAS=gcc
AR=ar
AS=as
LD=ld
NM=nm
OBJCOPY=objcopy
RANLIB=ranlib
STRIP=strip
EOC
fi
make -s -C "$rom" all >/dev/null 2>&1 || make -C "$rom" all

# QEMU's data directory as configured (prefix/datadir/qemu_suffix)
datadir=$("$(dirname "$0")/meson-option.py" "$obj" prefix datadir qemu_suffix)
bundle=$obj/qemu-bundle$datadir

mkdir -p "$out" "$bundle"
# iPXE's ROMs where Debian's ipxe-qemu puts them: /usr/lib/ipxe/qemu on
# Debian 12, /usr/share/qemu on Debian 13
ipxe=$(dpkg -L ipxe-qemu 2>/dev/null | grep '\.rom$' || true)
# shellcheck disable=SC2086
for f in /usr/share/seabios/*.bin $ipxe "$rom"/*.bin; do
    [ -e "$f" ] || continue
    ln -sfn "$f" "$out/$(basename "$f")"
    ln -sfn "$f" "$bundle/$(basename "$f")"
done
# keymaps and descriptors as the source tree has them (the bundle has its own keymaps)
for d in keymaps descriptors; do
    [ -e "$out/$d" ] || ln -s "$src/pc-bios/$d" "$out/$d"
done
