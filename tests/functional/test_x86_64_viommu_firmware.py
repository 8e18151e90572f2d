#!/usr/bin/env python3
#
# qemu-viommu: firmware without a virtio-iommu driver (seeds/004). With
# boot-bypass on, OVMF reads the kernel and initramfs from a virtio-blk disk
# through the IOMMU and the guest runs; with boot-bypass=off that DMA is
# refused, each refusal is reported (-d guest_errors), and QEMU keeps running
# and answers QMP.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import shutil
import time

from qemu_test import QemuSystemTest
from viommu_kit import GuestRun, ViommuGuestTest, on_newest_kernel

OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'


class ViommuFirmware(ViommuGuestTest):

    def ovmf_guest(self, iommu_opts):
        """OVMF boots the kit's EFI disk (virtio-blk, iommu_platform=on) on
        q35 behind our virtio-iommu; the guest runs with disk and net off."""
        self.require_accelerator('tcg')
        vars_copy = self.scratch_file('vars.fd')
        shutil.copy(OVMF_VARS, vars_copy)
        vm, qemu_log = self.tcg_vm('ovmf', 'q35', cpus='1')
        vm.add_args('-drive', 'if=pflash,format=raw,readonly=on,file=' + OVMF_CODE,
                    '-drive', 'if=pflash,format=raw,file=' + vars_copy,
                    '-device', 'virtio-iommu-pci' + iommu_opts,
                    '-drive', 'if=none,id=efi0,format=raw,snapshot=on,file=' +
                    self.kit_file('amd64', 'efi-boot.img'),
                    '-device', 'virtio-blk-pci,drive=efi0,iommu_platform=on,'
                    'disable-legacy=on')
        vm.set_console()
        return GuestRun(vm, None, qemu_log)

    def test_ovmf_boot_bypass(self):
        g = self.ovmf_guest('')
        self.run_guest(g)
        self.assertEqual(g.result('done'), '1', 'guest booted from the disk')
        self.assertEqual(g.result('iommus'), '1', 'guest IOMMU devices')
        self.assertEqual(g.device_faults(), 0, 'device-reported DMA faults')

    def test_ovmf_no_boot_bypass(self):
        g = self.ovmf_guest(',boot-bypass=off')
        g.vm.launch()
        # until the firmware has tried its DMA and been refused
        deadline = time.time() + 300
        while g.device_faults() == 0 and time.time() < deadline:
            self.read_console(g, None, timeout=2)
        time.sleep(5)
        self.read_console(g, None, timeout=3, quiet_for=2)
        status = g.vm.cmd('query-status')
        g.vm.shutdown()
        with open(g.qemu_log, errors='replace') as f:
            log = f.read()
        self.log.info('%d DMA faults reported', log.count('DMA fault'))
        self.assertGreater(log.count('DMA fault'), 0, 'DMA faults reported')
        self.assertIn('not attached to a domain and bypass is off', log,
                      'the reason of the faults')
        self.assertEqual(g.result('done'), '', 'guest did not boot')
        self.assertEqual(status.get('status'), 'running',
                         'QEMU still running (QMP query-status)')
        self.assertEqual(g.vm.exitcode(), 0, 'QEMU exit status after quit')


ViommuFirmwareNewest = on_newest_kernel(ViommuFirmware)


if __name__ == '__main__':
    QemuSystemTest.main()
