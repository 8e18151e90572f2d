#!/usr/bin/env python3
#
# qemu-viommu: live migration in the middle of strict-mode I/O, where every
# read costs a MAP and an UNMAP: through our virtio-iommu's request ring,
# and through our intel-iommu's tables and invalidation queue. The
# destination takes over, the guest's reads go on and finish there, the
# data read back afterwards is intact, and neither side reports a fault.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import time

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest

READS = 60000


class ViommuMigration(ViommuGuestTest):

    def test_q35_migrate(self):
        self.migrate(['-device', 'virtio-iommu-pci'], 'iommu.strict=1')

    def test_intel_migrate(self):
        # interrupt remapping and queued invalidation state travel too
        self.migrate(['-device', 'intel-iommu,intremap=on'],
                     'intel_iommu=on iommu.strict=1')

    def migrate(self, iommu, append):
        self.require_accelerator('tcg')
        append += ' viommu.bench=%d' % READS
        # the same disk on both sides: room for the reads
        src = self.new_guest('src', 'amd64', 'q35', iommu, append, net=False,
                             disk_size=256 << 20)
        dst = self.new_guest('dst', 'amd64', 'q35', iommu, append, net=False,
                             image=src.disk)
        uri = 'unix:' + self.socket_dir().name + '/migration'
        dst.vm.add_args('-incoming', uri)
        dst.vm.launch()
        src.vm.launch()
        self.assertTrue(self.read_console(src, 'RESULT bench.started=', timeout=300),
                        'the guest started its reads')
        time.sleep(2)
        src.vm.cmd('migrate-set-parameters', max_bandwidth=4 << 30)
        src.vm.cmd('migrate', uri=uri)
        status = ''
        for _ in range(240):
            status = src.vm.cmd('query-migrate').get('status', '')
            if status in ('completed', 'failed', 'cancelled'):
                break
            time.sleep(0.5)
        self.assertEqual(status, 'completed', 'migration')
        # what the source printed before it stopped
        self.read_console(src, None, timeout=5, quiet_for=2)
        src.vm.shutdown()
        self.assertEqual(src.result('bench.reads'), '',
                         'reads under way when it migrated')
        self.assertTrue(self.read_console(dst, 'RESULT done='),
                        'the guest finished on the destination')
        dst.vm.wait(timeout=120)
        self.assertEqual(dst.result('bench.reads'), str(READS),
                         'reads finished on the destination')
        self.assertEqual(dst.result('disk.md5.after'), src.result('disk.md5.written'),
                         'data read back after migration')
        self.assertEqual(dst.result('guest.faults'), '0', 'guest-reported faults')
        self.assertEqual(src.device_faults() + dst.device_faults(), 0,
                         'device-reported DMA faults')
        self.assertEqual(dst.vm.exitcode(), 0, 'destination exit status')


if __name__ == '__main__':
    QemuSystemTest.main()
