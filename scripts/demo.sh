#!/bin/bash
# make demo [IOMMU=virtio|intel|amd]: boots Debian's 6.12 kernel on q35
# under TCG behind our virtio-iommu (or our intel-iommu or amd-iommu, with
# interrupt remapping), with a virtio-blk disk and a virtio-net NIC that translate
# through it, and shows what the guest's own driver reports.
set -euo pipefail
. "$(dirname "$0")/guest-boot.sh"

case "${IOMMU:-virtio}" in
virtio) device=virtio-iommu-pci; append=iommu.strict=1 ;;
intel)  device=intel-iommu,intremap=on; append="intel_iommu=on iommu.strict=1" ;;
amd)    device=amd-iommu,intremap=on; append=iommu.strict=1 ;;
*) echo "demo: IOMMU=${IOMMU}: allowed values are virtio, intel and amd" >&2
   exit 2 ;;
esac
name=demo-${IOMMU:-virtio}
echo "== booting: qemu-system-x86_64 -M q35 -device $device" \
     "-device virtio-blk-pci,iommu_platform=on -device virtio-net-pci,iommu_platform=on"
guest_boot "$name" amd64 -M q35 -device "$device" -- $append
log=$GUEST_WORK/$name.console

echo "== the guest kernel's view of the IOMMU"
grep -a '^DMESG' "$log" |
    grep -ai 'viot\|virtio_iommu\|DMAR\|AMD-Vi\|remapping\|iommu group\|TLB invalidation' |
    sed 's/^DMESG /   /' | tr -d '\r'
echo "== IOMMU groups (vendor:device = group:type)"
grep -a 'RESULT group\.' "$log" | sed 's/.*RESULT group\./   /' | tr -d '\r'
echo "== data integrity (4 MiB, direct I/O through the IOMMU)"
w=$(guest_result "$name" disk.md5.written)
r=$(guest_result "$name" disk.md5.read)
h=$(head -c 4194304 "$GUEST_WORK/$name.img" | md5sum | cut -d' ' -f1)
echo "   written by the guest: $w"
echo "   read back by guest:   $r"
echo "   on the host's image:  $h"
echo "== network: DHCP lease over virtio-net: $(guest_result "$name" net.lease)"
faults=$(grep -c 'DMA fault' "$GUEST_WORK/$name.qemu.log" 2>/dev/null || true)
echo "== DMA faults: reported by the device ${faults:-0}, by the guest $(guest_result "$name" guest.faults)"
if [ -n "$w" ] && [ "$w" = "$r" ] && [ "$w" = "$h" ] &&
   [ "$(guest_result "$name" net.lease)" = 10.0.2.15 ]; then
    echo "demo: OK, the guest ran its disk and network behind our ${device%%,*}"
else
    echo "demo: FAILED (console: $log)"
    exit 1
fi
