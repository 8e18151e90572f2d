#!/bin/bash
# Gathers the firmware our QEMU runs with into one directory (passed as -L):
# Debian's SeaBIOS and iPXE ROMs, and QEMU's x86 option ROMs (linuxboot,
# multiboot, kvmvapic, pvh) built from the pinned source, since the +ds
# tarball ships no binaries. Usage: scripts/firmware.sh SRC OBJ OUTDIR
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

mkdir -p "$out"
for f in /usr/share/seabios/*.bin /usr/lib/ipxe/qemu/*.rom "$rom"/*.bin; do
    [ -e "$f" ] && ln -sf "$f" "$out/$(basename "$f")"
done
# keymaps and descriptors as the source tree has them
for d in keymaps descriptors; do
    [ -e "$out/$d" ] || ln -s "$src/pc-bios/$d" "$out/$d"
done
