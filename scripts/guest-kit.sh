#!/bin/bash
# Prepares the guest kit of the functional tests once, in QEMU's build tree,
# where the tests find it through the framework (QemuBaseTest.build_file):
#   OBJ/viommu-guest-kit/amd64/vmlinuz            Debian's 6.12 kernel
#   OBJ/viommu-guest-kit/amd64/initramfs.cpio.gz  busybox, modules, tests/guest/init
#   OBJ/viommu-guest-kit/amd64/initramfs-l1.cpio.gz  the same with our QEMU as L2
#                                                 (tests/guest/l2.sh), for the VFIO relay
#   OBJ/viommu-guest-kit/amd64/initramfs-kdump.cpio.gz  the same with the kernel and
#                                                 initramfs as kdump capture kernel
#   OBJ/viommu-guest-kit/amd64/efi-boot.img       FAT disk: kernel as EFI application,
#                                                 initramfs, startup.nsh (OVMF cases)
#   OBJ/viommu-guest-kit/arm64/{vmlinuz,initramfs.cpio.gz}   when the arm64 kernel is fetched
#   OBJ/viommu-guest-kit/{amd64,arm64}-newest/... the same with the newest kernel
#                                                 Debian ships (trixie-backports)
# Kernels and busybox come from scripts/deps.sh (apt); the tests download nothing.
# Usage: scripts/guest-kit.sh OBJ      (rebuilds only what is older than its inputs)
set -euo pipefail
obj=$1
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
kit=$obj/viommu-guest-kit
qemu=$obj/qemu-system-x86_64
mk=$top/tests/guest/mkinitramfs.sh

stale() {   # stale OUT INPUT...: OUT is missing or older than an input
    local out=$1 f; shift
    [ -e "$out" ] || return 0
    for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
    return 1
}

for k in amd64 arm64 amd64-newest arm64-newest; do
    [ -e "$cache/linux-$k/vmlinuz" ] || continue
    mkdir -p "$kit/$k"
    stale "$kit/$k/vmlinuz" "$cache/linux-$k/vmlinuz" &&
        cp "$cache/linux-$k/vmlinuz" "$kit/$k/vmlinuz"
    stale "$kit/$k/initramfs.cpio.gz" "$top/tests/guest/init" "$mk" \
          "$top/tests/guest/edu-storm.c" "$cache/linux-$k/vmlinuz" &&
        "$mk" "$k" "$kit/$k/initramfs.cpio.gz"
done
for k in amd64 amd64-newest; do
    [ -e "$kit/$k/vmlinuz" ] || { echo "guest-kit: no $k kernel (scripts/deps.sh guest)" >&2; exit 1; }
done

for k in amd64 amd64-newest; do
    a=$kit/$k
    stale "$a/initramfs-l1.cpio.gz" "$qemu" "$top/tests/guest/init" \
          "$top/tests/guest/l2.sh" "$mk" "$top/tests/guest/edu-storm.c" &&
        "$mk" "$k" "$a/initramfs-l1.cpio.gz" "$qemu"
    stale "$a/initramfs-kdump.cpio.gz" "$a/initramfs.cpio.gz" "$a/vmlinuz" \
          "$top/tests/guest/kdump-load.c" &&
        KDUMP_KERNEL=$a/vmlinuz KDUMP_INITRD=$a/initramfs.cpio.gz \
        "$mk" "$k" "$a/initramfs-kdump.cpio.gz"

    if stale "$a/efi-boot.img" "$a/vmlinuz" "$a/initramfs.cpio.gz"; then
        rm -f "$a/efi-boot.img.tmp"
        truncate -s 40M "$a/efi-boot.img.tmp"
        mkfs.vfat -F 32 "$a/efi-boot.img.tmp" >/dev/null
        mcopy -i "$a/efi-boot.img.tmp" "$a/vmlinuz" ::/vmlinuz.efi
        mcopy -i "$a/efi-boot.img.tmp" "$a/initramfs.cpio.gz" ::/initrd
        printf 'fs0:\r\n\\vmlinuz.efi console=ttyS0 initrd=\\initrd panic=-1 quiet viommu.disk=0 viommu.net=0\r\n' \
            > "$a/startup.nsh"
        mcopy -i "$a/efi-boot.img.tmp" "$a/startup.nsh" ::/startup.nsh
        mv "$a/efi-boot.img.tmp" "$a/efi-boot.img"
    fi
done
