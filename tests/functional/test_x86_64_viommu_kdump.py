#!/usr/bin/env python3
#
# qemu-viommu: kdump behind each of our IOMMUs, under TCG. The guest kit's
# kernel boots with crashkernel=, loads itself as the capture kernel
# (tests/guest/kdump-load.c), puts its virtio disk under DMA load and
# crashes (sysrq c). The capture kernel takes the IOMMU over as it finds
# it (Linux copies VT-d's old tables; since 6.18 it reuses AMD-Vi's device
# table, command buffer and event log; virtio-iommu is reset by its
# driver) and writes the start of /proc/vmcore to the disk behind the
# IOMMU. Asserted as a user would check it: the capture kernel ran and saw
# a vmcore, the dump read back intact (in the guest and on the host's
# image), its IOMMU driver in place, and no DMA fault on either side.
#
# SPDX-License-Identifier: GPL-2.0-or-later

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest, on_newest_kernel


class ViommuKdump(ViommuGuestTest):

    def capture_dmesg(self, guest):
        """The capture kernel's IOMMU lines (DMESG, after kdump.capture)."""
        start = next(i for i, line in enumerate(guest.lines)
                     if 'RESULT kdump.capture=' in line)
        return '\n'.join(line for line in guest.lines[start:]
                         if 'DMESG' in line)

    def kdump(self, machine, iommu, append, takeover):
        self.require_accelerator('tcg')
        g = self.new_guest('guest', 'amd64', machine, ['-device', iommu],
                           'crashkernel=160M viommu.kdump=1 ' + append,
                           net=False,
                           initrd=self.kit_file('amd64',
                                                'initramfs-kdump.cpio.gz'))
        self.run_guest(g)
        self.assertEqual(g.result('kdump.loaded'), '1',
                         'capture kernel loaded')
        self.assertEqual(g.result('kdump.capture'), '1',
                         'the capture kernel ran')
        self.assertRegex(g.result('kdump.vmcore'), r'^[0-9]{6,}$',
                         'the capture kernel found a vmcore')
        self.assertEqual(g.result('iommus'), '1', 'IOMMU devices')
        self.assertRegex(self.capture_dmesg(g), takeover,
                         'the capture kernel took the IOMMU over')
        self.assert_data(g)
        self.assert_no_faults(g)
        return g

    def test_virtio(self):
        self.kdump('q35', 'virtio-iommu-pci', 'iommu.strict=1',
                   r'virtio_iommu virtio0: input address')

    def test_intel(self):
        self.kdump('q35,kernel-irqchip=split',
                   'intel-iommu,intremap=on,caching-mode=on',
                   'intel_iommu=on iommu.strict=1',
                   r'DMAR: Copied translation tables from previous kernel')

    def test_amd(self):
        # (6.12 copies the device table, 6.18 and later reuse it)
        self.kdump('q35,kernel-irqchip=split', 'amd-iommu,intremap=on',
                   'iommu.strict=1',
                   r'AMD-Vi: (Copied|Reused) DEV table from previous kernel')


ViommuKdumpNewest = on_newest_kernel(ViommuKdump)


if __name__ == '__main__':
    QemuSystemTest.main()
