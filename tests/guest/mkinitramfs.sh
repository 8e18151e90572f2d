#!/bin/bash
# Builds the guest test initramfs for ARCH (amd64 or arm64) from Debian's
# busybox-static and the modules of Debian's 6.12 kernel.
# Usage: tests/guest/mkinitramfs.sh ARCH OUTPUT.cpio.gz
set -euo pipefail
arch=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
cache=${QEMU_VIOMMU_CACHE:-$HOME/.cache/qemu-viommu}
kdir=$cache/linux-$arch
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
              ip udhcpc poweroff dmesg awk echo tr head seq; do
    ln -s busybox "$root/bin/$applet"
done
cp "$here/init" "$root/init"
cp "$here/udhcpc-script" "$root/bin/udhcpc-script"
for m in drivers/iommu/virtio-iommu net/core/failover drivers/net/net_failover \
         drivers/net/virtio_net drivers/block/virtio_blk drivers/vfio/vfio \
         drivers/vfio/vfio_iommu_type1 drivers/vfio/pci/vfio-pci-core \
         drivers/vfio/pci/vfio-pci; do
    f=$modules/kernel/$m.ko.xz
    [ -f "$f" ] && xz -dc "$f" > "$root/lib/modules/$(basename "$m").ko"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
