#!/usr/bin/env python3
#
# qemu-viommu: Debian's 6.12 kernel behind our virtio-iommu on q35 and pc,
# under TCG, in strict, lazy and passthrough (identity) modes, and with a
# packed request ring. Each asserts what the guest itself reports: the VIOT
# parsed, one IOMMU, virtio-blk and virtio-net in IOMMU groups of the
# expected type, 4 MiB written and read back intact with direct I/O (checked
# again in the host's disk image), a DHCP lease over virtio-net, which ring
# layout the guest's driver took, and no DMA fault on either side.
#
# SPDX-License-Identifier: GPL-2.0-or-later

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest, on_newest_kernel


class ViommuX86Guest(ViommuGuestTest):

    def guest(self, machine, group_type, append, iommu='virtio-iommu-pci',
              ring='split'):
        self.require_accelerator('tcg')
        g = self.new_guest('guest', 'amd64', machine, ['-device', iommu], append)
        self.run_guest(g)
        self.assert_guest(g, group_type, ring=ring)

    def test_q35_strict(self):
        self.guest('q35', 'DMA', 'iommu.strict=1')

    def test_q35_lazy(self):
        self.guest('q35', 'DMA-FQ', 'iommu.strict=0')

    def test_q35_passthrough(self):
        self.guest('q35', 'identity', 'iommu.passthrough=1')

    def test_pc_strict(self):
        self.guest('pc', 'DMA', 'iommu.strict=1')

    def test_q35_packed_ring(self):
        # a packed request ring is served through virtio.c, not our split ring code
        self.guest('q35', 'DMA', 'iommu.strict=1',
                   iommu='virtio-iommu-pci,packed=on', ring='packed')


ViommuX86GuestNewest = on_newest_kernel(ViommuX86Guest)


if __name__ == '__main__':
    QemuSystemTest.main()
