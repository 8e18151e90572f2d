#!/bin/bash
# Builds the guest test initramfs for KERNEL from Debian's busybox-static and
# that kernel's modules: amd64 or arm64 (Debian's 6.12), amd64-newest or
# arm64-newest (the newest Debian ships), as scripts/deps.sh fetched them.
# Usage: tests/guest/mkinitramfs.sh KERNEL OUTPUT.cpio.gz [QEMU-BINARY]
# With KDUMP_KERNEL and KDUMP_INITRD set (files), the initramfs also carries
# them as /kdump/vmlinuz and /kdump/initrd: the capture kernel that
# viommu.kdump=1 loads (tests/guest/kdump-load.c).
# With QEMU-BINARY (same architecture), the initramfs also carries that QEMU,
# stripped, with its shared libraries and SeaBIOS, under /opt/qemu, and the
# nested-guest script tests/guest/l2.sh as /l2.sh (the VFIO relay test).
set -euo pipefail
kernel=$1 out=$2 l2_qemu=${3:-}
arch=${kernel%-newest}
here=$(cd "$(dirname "$0")" && pwd)
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
kdir=$cache/linux-$kernel
modules=$(ls -d "$kdir"/modules/*/ | head -1)
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    busybox=/bin/busybox
else
    busybox=$cache/busybox-$arch/busybox
fi
[ -x "$busybox" ] || { echo "mkinitramfs: no busybox for $arch (scripts/deps.sh)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in sh mount insmod sed cat ls wc readlink dd md5sum cut sleep grep \
              ip udhcpc poweroff dmesg awk echo tr head seq sort; do
    ln -s busybox "$root/bin/$applet"
done
cp "$here/init" "$root/init"
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    # the fault storm's DMA starter (static: the initramfs has no libc)
    ${CC:-gcc} -static -O2 -Wall -o "$root/bin/edu-storm" "$here/edu-storm.c"
    ${CC:-gcc} -static -O2 -Wall -o "$root/bin/kdump-load" "$here/kdump-load.c"
fi
cp "$here/udhcpc-script" "$root/bin/udhcpc-script"
for m in virt/lib/irqbypass drivers/iommu/virtio-iommu net/core/failover drivers/net/net_failover \
         drivers/net/virtio_net drivers/block/virtio_blk drivers/vfio/vfio \
         drivers/vfio/vfio_iommu_type1 drivers/vfio/pci/vfio-pci-core \
         drivers/vfio/pci/vfio-pci; do
    f=$modules/kernel/$m.ko.xz
    [ -f "$f" ] && xz -dc "$f" > "$root/lib/modules/$(basename "$m").ko"
done
if [ -n "${KDUMP_KERNEL:-}" ]; then
    mkdir -p "$root/kdump"
    cp "$KDUMP_KERNEL" "$root/kdump/vmlinuz"
    cp "$KDUMP_INITRD" "$root/kdump/initrd"
fi
if [ -n "$l2_qemu" ]; then
    mkdir -p "$root/opt/qemu/lib" "$root/opt/qemu/fw"
    strip -o "$root/opt/qemu/qemu-system-x86_64" "$l2_qemu"
    for lib in $(ldd "$l2_qemu" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
        cp -L "$lib" "$root/opt/qemu/lib/"
    done
    cp -L /usr/share/seabios/bios-256k.bin "$root/opt/qemu/fw/"
    fw=$(dirname "$l2_qemu")/../firmware
    [ -e "$fw/kvmvapic.bin" ] && cp -L "$fw/kvmvapic.bin" "$root/opt/qemu/fw/"
    cp "$here/l2.sh" "$root/l2.sh"
    for applet in stty printf; do ln -s busybox "$root/bin/$applet"; done
fi
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
