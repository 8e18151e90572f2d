#!/bin/sh
# Nested guest (L2) of the VFIO relay test, run by /init in L1: our QEMU in
# qtest mode with L1's edu passed through (vfio-pci) behind our virtio-iommu.
# Its qtest protocol runs over L1's second serial port, which L0 exposes to
# the host as a socket, so the host's test driver speaks to L2 directly.
dev=$(sed -n 's/^RESULT vfio.device=//p' /tmp/results 2>/dev/null)
[ -n "$dev" ] || for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] && dev=${d##*/}
done
echo "RESULT l2.start=$dev"
# L2's output goes straight to the console: a pipe's buffer would be lost
# when the test ends by stopping L0.
/opt/qemu/lib/ld-linux-x86-64.so.2 --library-path /opt/qemu/lib \
    /opt/qemu/qemu-system-x86_64 -L /opt/qemu/fw -M pc -accel qtest -m 256 \
    -nodefaults -display none -qtest /dev/ttyS1 -qtest-log /dev/null \
    -device virtio-iommu-pci -device vfio-pci,host=$dev \
    -trace 'vfio_iommu_map_notify' -trace 'vfio_dma_unmap*' \
    -trace 'vfio_listener_region_add_iommu' -d guest_errors \
    > /dev/console 2>&1
echo "RESULT l2.exit=$?"
