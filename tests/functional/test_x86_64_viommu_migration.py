#!/usr/bin/env python3
#
# qemu-viommu: live migration in the middle of strict-mode I/O, where every
# read costs a MAP and an UNMAP: through our virtio-iommu's request ring,
# and through our intel-iommu's tables and invalidation queue. The
# destination takes over, the guest's reads go on and finish there, the
# data read back afterwards is intact, and neither side reports a fault.
# Also between our intel-iommu and stock 10.0.13's (when build/upstream is
# there) both ways, from Debian 12's stock 10.0.2 (when make bench has
# installed it), and a hostile stream refused on load.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import subprocess
import time
import unittest

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest, on_newest_kernel

READS = 60000
BUILD = os.path.dirname(os.path.dirname(os.getenv('QEMU_BUILD_ROOT', '.')))
# pristine upstream from the pinned tarball (make bench builds it)
UPSTREAM = os.path.join(BUILD, 'upstream', 'obj', 'qemu-system-x86_64')
FIRMWARE = os.path.join(BUILD, 'ours', 'firmware')
# Debian 12's own QEMU 10.0.2 (bookworm-backports; make bench installs it)
DEBIAN_QEMU = '/usr/bin/qemu-system-x86_64'


def debian_qemu_version():
    """The version Debian's QEMU reports, or None."""
    try:
        out = subprocess.run([DEBIAN_QEMU, '--version'], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version (\d+\.\d+\.\d+) \(Debian', out)
    return m.group(1) if m else None


class ViommuMigration(ViommuGuestTest):

    def test_q35_migrate(self):
        self.migrate(['-device', 'virtio-iommu-pci'], 'iommu.strict=1')

    def test_intel_migrate(self):
        # interrupt remapping and queued invalidation state travel too
        self.migrate(['-device', 'intel-iommu,intremap=on'],
                     'intel_iommu=on iommu.strict=1', nfr=8)

    def test_amd_migrate(self):
        # stock 10.0.2's amd-iommu cannot migrate; ours does by default
        self.migrate(['-device', 'amd-iommu,intremap=on'],
                     'amd_iommu=on iommu.strict=1')

    # between ours and stock 10.0.13, both ways: vmstate iommu-intel v1
    @unittest.skipUnless(os.path.exists(UPSTREAM), 'no upstream build '
                         '(make bench builds build/upstream)')
    def test_intel_migrate_to_upstream(self):
        self.migrate(['-device', 'intel-iommu,intremap=on'],
                     'intel_iommu=on iommu.strict=1', dst_bin=UPSTREAM)

    @unittest.skipUnless(os.path.exists(UPSTREAM), 'no upstream build '
                         '(make bench builds build/upstream)')
    def test_intel_migrate_from_upstream(self):
        # the guest keeps the one fault record stock's CAP.NFR told it of
        self.migrate(['-device', 'intel-iommu,intremap=on'],
                     'intel_iommu=on iommu.strict=1', src_bin=UPSTREAM,
                     nfr=1)

    # from the stock 10.0.2 users of Debian 12 run: the same stream
    @unittest.skipUnless(debian_qemu_version() == '10.0.2',
                         "no Debian QEMU 10.0.2 at %s (make bench on Debian "
                         "12 installs bookworm-backports' qemu-system-x86)"
                         % DEBIAN_QEMU)
    def test_intel_migrate_from_debian_10_0_2(self):
        self.migrate(['-device', 'intel-iommu,intremap=on'],
                     'intel_iommu=on iommu.strict=1', src_bin=DEBIAN_QEMU,
                     nfr=1)

    def test_intel_bad_stream_refused(self):
        """A stream whose intel-iommu fault record index is out of range
        (a hand-edited or hostile one) is refused on load; the destination
        keeps running and says why."""
        self.require_accelerator('tcg')
        stream = self.scratch_file('iommu.stream')
        src, _ = self.tcg_vm('src', 'q35')
        src.add_args('-S', '-device', 'intel-iommu,intremap=on')
        src.launch()
        src.cmd('migrate', uri='exec:cat > %s' % stream)
        for _ in range(120):
            if src.cmd('query-migrate').get('status') == 'completed':
                break
            time.sleep(0.5)
        src.shutdown()
        with open(stream, 'rb') as f:
            data = bytearray(f.read())
        at = data.find(b'iommu-intel')
        self.assertGreater(at, 0, 'intel-iommu section in the stream')
        # idstr, instance and version ids, then be64 x 3, be32, be16 x 4
        frcd_next = at + len('iommu-intel') + 8 + 24 + 4 + 6
        self.assertEqual(data[frcd_next:frcd_next + 2], b'\0\0')
        data[frcd_next + 1] = 9         # of 8 records
        with open(stream, 'wb') as f:
            f.write(data)
        dst, log = self.tcg_vm('dst', 'q35')
        dst.add_args('-device', 'intel-iommu,intremap=on',
                     '-incoming', 'defer')
        dst.launch()
        dst.cmd('migrate-incoming', uri='exec:cat %s' % stream,
                **{'exit-on-error': False})
        status = ''
        for _ in range(120):
            status = dst.cmd('query-migrate').get('status', '')
            if status in ('completed', 'failed'):
                break
            time.sleep(0.5)
        self.assertEqual(status, 'failed', 'the bad stream is refused')
        self.assertIn('status', dst.cmd('query-status'), 'QEMU answers')
        dst.shutdown()
        self.assertIn('fault record 9 (FRI 0) of 8', dst.get_log() or '',
                      'the reason, in QEMU\'s output')

    def guest_on(self, binary, *args, **kwargs):
        """new_guest, run by @binary (None: ours) with our firmware."""
        ours = self.qemu_bin
        self.qemu_bin = binary or ours
        try:
            g = self.new_guest(*args, **kwargs)
        finally:
            self.qemu_bin = ours
        if binary:
            g.vm.add_args('-L', FIRMWARE)
        return g

    def migrate(self, iommu, append, src_bin=None, dst_bin=None, nfr=None):
        """Migrates a guest in the middle of strict-mode reads; with NFR,
        the destination's VT-d must offer NFR fault records (CAP.NFR + 1)
        after the migration."""
        self.require_accelerator('tcg')
        append += ' viommu.bench=%d' % READS
        # the same disk on both sides: room for the reads
        src = self.guest_on(src_bin, 'src', 'amd64', 'q35', iommu, append,
                            net=False, disk_size=256 << 20)
        dst = self.guest_on(dst_bin, 'dst', 'amd64', 'q35', iommu, append,
                            net=False, image=src.disk)
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
        if nfr:
            out = dst.vm.cmd('human-monitor-command',
                             command_line='xp /1gx 0xfed90008')
            cap = int(out.split(':')[1].split()[0], 16)
            self.assertEqual((cap >> 40 & 0xff) + 1, nfr,
                             'fault records on the destination (CAP %s)' %
                             out.strip())
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


ViommuMigrationNewest = on_newest_kernel(ViommuMigration)


if __name__ == '__main__':
    QemuSystemTest.main()
