#!/usr/bin/env python3
#
# qemu-viommu: Debian's 6.12 arm64 kernel behind our virtio-iommu on arm
# virt, under TCG, with AAVMF so that the guest finds the VIOT through ACPI.
# Asserts what the x86 guest tests assert (test_x86_64_viommu_guest.py).
#
# SPDX-License-Identifier: GPL-2.0-or-later

import shutil

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest, on_newest_kernel

AAVMF_CODE = '/usr/share/AAVMF/AAVMF_CODE.fd'
AAVMF_VARS = '/usr/share/AAVMF/AAVMF_VARS.fd'


class ViommuArmGuest(ViommuGuestTest):

    def test_virt_strict(self):
        self.require_accelerator('tcg')
        vars_copy = self.scratch_file('vars.fd')
        shutil.copy(AAVMF_VARS, vars_copy)
        g = self.new_guest('guest', 'arm64', 'virt', [
            '-cpu', 'max',
            '-drive', 'if=pflash,format=raw,readonly=on,file=' + AAVMF_CODE,
            '-drive', 'if=pflash,format=raw,file=' + vars_copy,
            '-device', 'virtio-iommu-pci'], 'iommu.strict=1')
        self.run_guest(g)
        self.assert_guest(g, 'DMA')


ViommuArmGuestNewest = on_newest_kernel(ViommuArmGuest)


if __name__ == '__main__':
    QemuSystemTest.main()
