#!/bin/bash
# A device passed through twice (seeds/001, scenario 1), all under TCG:
#   L0  our qemu-system-x86_64, q35, our virtio-iommu, an edu device
#   L1  Debian 6.12: edu bound to vfio-pci, and our QEMU run as L2 in qtest
#       mode with -device vfio-pci,host=<edu> -device virtio-iommu-pci
#   host  tests/guest/vfio_relay.py drives L2 over L1's second serial port:
#       MAP/UNMAP in L2 -> IOMMU notifiers -> VFIO (L1) -> L1's virtio-iommu
#       driver -> L0's virtio-iommu, which translates edu's DMA.
# Usage: run-vfio-relay.sh [virtio|intel]   (L0's IOMMU for L1: ours, or
# upstream's intel-iommu with caching-mode=on and interrupt remapping)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:-virtio}
name=vfio-relay-$variant
case "$variant" in
virtio)
    # no interrupt remapping behind a virtio-iommu on x86: type1 needs
    # allow_unsafe_interrupts (tests/guest/init sets it)
    l0_iommu=(-M q35 -device virtio-iommu-pci)
    l1_args="iommu.strict=1 viommu.unsafe_irqs=1" ;;
intel)
    l0_iommu=(-M q35,kernel-irqchip=split
              -device intel-iommu,caching-mode=on,intremap=on)
    l1_args="intel_iommu=on iommu.strict=1" ;;
*) echo "run-vfio-relay: unknown variant '$variant' (virtio, intel)" >&2; exit 2 ;;
esac
initrd=$GUEST_WORK/initramfs-amd64-l1.cpio.gz
if [ ! -f "$initrd" ] || [ "$GUEST_OBJ/qemu-system-x86_64" -nt "$initrd" ] ||
   [ "$GUEST_TOP/tests/guest/init" -nt "$initrd" ] ||
   [ "$GUEST_TOP/tests/guest/l2.sh" -nt "$initrd" ]; then
    "$GUEST_TOP/tests/guest/mkinitramfs.sh" amd64 "$initrd" "$GUEST_OBJ/qemu-system-x86_64"
fi
sock=$GUEST_WORK/$name.l2-qtest
qmp=$GUEST_WORK/$name.qmp
rm -f "$sock" "$qmp"

GUEST_INITRD=$initrd GUEST_DISK=0 GUEST_NET=0 GUEST_TIMEOUT=1200 \
    guest_boot "$name" amd64 "${l0_iommu[@]}" -m 2G -device edu \
        -serial "unix:$sock,server=on,wait=off" \
        -qmp "unix:$qmp,server=on,wait=off" \
        -- $l1_args viommu.vfio=1 viommu.l2=1 &
l0=$!

python3 "$GUEST_TOP/tests/guest/vfio_relay.py" "$sock" | tee "$GUEST_WORK/$name.steps"
rc=${PIPESTATUS[0]}
sleep 5     # let L2's last trace lines cross L1's console
python3 "$GUEST_TOP/tests/guest/qmp.py" "$qmp" quit >/dev/null 2>&1 || kill $l0
wait $l0

console=$GUEST_WORK/$name.console
echo "== L1 kernel"
grep -a 'RESULT vfio\|virtio_iommu\|page fault\|vfio' "$console" | grep -av '^L2 ' | tr -d '\r' | head -20
echo "== L2 VFIO notifications (trace)"
maps=$(grep -ac 'vfio_iommu_map_notify iommu MAP @' "$console")
unmaps=$(grep -ac 'vfio_iommu_map_notify iommu UNMAP @' "$console")
grep -a 'vfio_iommu_map_notify' "$console" | sed 's/^/   /' | tr -d '\r'
# 5 guest MAPs: 1 MiB (one VFIO map: no split), one page, two pages made
# before attach (replayed), and 3 pages (8 KiB + 4 KiB blocks). Unmaps: the
# 1 MiB one, the page left behind when edu moved domains, the 3 pages, and
# the two pages still mapped when the device is reset.
echo "   $maps VFIO maps and $unmaps VFIO unmaps for 5 guest MAPs, 2 guest UNMAPs, 1 move and 1 reset"
[ "$maps" = 6 ] && [ "$unmaps" = 6 ] || { echo "expected 6 VFIO maps and 6 unmaps"; rc=1; }
echo "== faults of the DMA after UNMAP"
if [ "$variant" = virtio ]; then
    grep 'DMA fault' "$GUEST_WORK/$name.qemu.log" | head -3
    faults=$(grep -c 'DMA fault' "$GUEST_WORK/$name.qemu.log")
else
    grep -a 'DMAR: \[DMA' "$console" | head -3
    faults=$(grep -ac 'DMAR: \[DMA' "$console")
fi
[ "$faults" -gt 0 ] || { echo "expected the DMA after UNMAP to fault in L0"; rc=1; }
echo "vfio relay ($variant): $([ "$rc" = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit "$rc"
