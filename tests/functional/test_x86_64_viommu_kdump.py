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
from viommu_kit import RESULT, ViommuGuestTest, on_newest_kernel


class ViommuKdump(ViommuGuestTest):

    def capture_lines(self, guest):
        """What the capture kernel printed: the lines after the first
        kernel's 'kdump.loaded=1'."""
        start = next(i for i, line in enumerate(guest.lines)
                     if 'RESULT kdump.loaded=1' in line)
        return guest.lines[start + 1:]

    @staticmethod
    def capture_result(lines, key):
        """What the capture kernel reported for KEY in its LINES ('' if
        nothing)."""
        for line in lines:
            m = RESULT.search(line)
            if m and m.group(1) == key:
                return m.group(2)
        return ''

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
        capture = self.capture_lines(g)
        self.assertEqual(self.capture_result(capture, 'iommus'), '1',
                         'IOMMU devices (capture kernel)')
        dmesg = '\n'.join(line for line in capture if 'DMESG' in line)
        for line in takeover:
            self.assertRegex(dmesg, line,
                             'the capture kernel took the IOMMU over')
        self.assert_data(g)
        self.assert_no_faults(g)
        return g

    def test_virtio(self):
        self.kdump('q35', 'virtio-iommu-pci', 'iommu.strict=1',
                   [r'virtio_iommu virtio0: input address'])

    def test_intel(self):
        self.kdump('q35,kernel-irqchip=split',
                   'intel-iommu,intremap=on,caching-mode=on',
                   'intel_iommu=on iommu.strict=1',
                   [r'DMAR: Copied translation tables from previous kernel',
                    r'DMAR-IR: Copied IR table'])

    def test_amd(self):
        # 6.12 copies the device table; 6.18 and later reuse it, and the
        # command buffer too
        takeover = ([r'AMD-Vi: Reused DEV table from previous kernel',
                     r'AMD-Vi: Re-using command buffer from the previous '
                     r'kernel'] if self.kernel == 'newest' else
                    [r'AMD-Vi: Copied DEV table from previous kernel'])
        self.kdump('q35,kernel-irqchip=split', 'amd-iommu,intremap=on',
                   'iommu.strict=1', takeover)


ViommuKdumpNewest = on_newest_kernel(ViommuKdump)


if __name__ == '__main__':
    QemuSystemTest.main()
