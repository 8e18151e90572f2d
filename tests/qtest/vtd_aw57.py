#!/usr/bin/env python3
"""intel-iommu with aw-bits=57: 5-level tables, over qtest on q35.

- aw-bits other than 39, 48 and 57 is refused with an error naming them;
- the capability the guest reads: SAGAW (3, 4 and 5 levels), MGAW 56,
  FL5LP with first-stage tables, and neither with aw-bits=48;
- virtio-blk DMA (its rings, headers, buffers and status bytes) at IOVAs
  above 2^48, through a legacy context with AW 3 (5 levels): every read
  completes, no fault;
- the used ring's page unmapped and invalidated: the next completion does
  not land, and the fault record holds the 57-bit address;
- the same context under aw-bits=48 (no 5-level in SAGAW) is refused: the
  device's DMA faults and nothing lands.

Usage: vtd_aw57.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
import qtest_vtd_blk as blk  # noqa: E402
from checks import check, summary  # noqa: E402

HIGH = 0x0123400000000000          # IOVA = HIGH + guest-physical, > 2^48
POOL = 0x502000                    # after blk.ROOT and blk.CTX
BASE = blk.BASE


class Tables:
    """5-level second-stage tables built on demand from a page pool."""

    def __init__(self, q):
        self.q, self.next = q, POOL
        self.root = self.page()

    def page(self):
        p, self.next = self.next, self.next + 0x1000
        self.q.mem(p, bytes(4096))
        return p

    def entry_addr(self, iova, make):
        table = self.root
        for level in (5, 4, 3, 2):
            slot = table + 8 * (iova >> (12 + 9 * (level - 1)) & 0x1ff)
            pte = struct.unpack('<Q', self.q.read(slot, 8))[0]
            if not pte & 3:
                if not make:
                    return None
                pte = self.page() | 3
                self.q.mem(slot, struct.pack('<Q', pte))
            table = pte & ~0xfff & (1 << 57) - 1
        return table + 8 * (iova >> 12 & 0x1ff)

    def map(self, iova, phys):
        self.q.mem(self.entry_addr(iova, True), struct.pack('<Q', phys | 3))

    def unmap(self, iova):
        self.q.mem(self.entry_addr(iova, False), bytes(8))


def start(binary, fw, aw_bits):
    devices = ['-device', 'intel-iommu,aw-bits=%d' % aw_bits,
               '-blockdev', 'null-co,node-name=d0,size=1073741824,'
               'read-zeroes=on',
               '-device', 'virtio-blk-pci,drive=d0,iommu_platform=on,'
               'disable-legacy=on']
    q = qv.Qtest(binary, fw, [], devices=devices, machine='q35')
    fn = qv.find(q, 0x1af4, 0x1042)
    bars, _ = qv.map_bars(q, fn, qv.BAR_BASE)
    t = Tables(q)
    for p in [qv.DESC, qv.AVAIL, qv.USED, blk.REQ, blk.REQ + 0x1000] + \
             [blk.BUF + 0x1000 * i for i in range(blk.PER_KICK)]:
        t.map(HIGH + p, p)
    q.mem(blk.ROOT, struct.pack('<QQ', blk.CTX | 1, 0))
    q.mem(blk.CTX + 16 * fn, struct.pack('<QQ', t.root | 1, 1 << 8 | 3))  # AW 3
    blk.vtd_enable(q)
    dev = blk.VirtioBlk(q, fn, bars)
    dev.dma_offset = HIGH
    dev.init()
    dev.setup_reads()
    return q, t, dev


def make_available(q, dev, n):
    dev.avail_idx = (dev.avail_idx + n) & 0xffff
    q.cmds(['writew 0x%x 0x%x' % (qv.AVAIL + 2, dev.avail_idx),
            'writew 0x%x 0x0' % dev.notify])
    q.cmd('clock_step 1000000')


def test_refused(binary, fw):
    for aw in (40, 58, 64):
        p = subprocess.run([binary, '-L', fw, '-M', 'q35', '-accel', 'qtest',
                            '-display', 'none', '-nodefaults', '-device',
                            'intel-iommu,aw-bits=%d' % aw],
                           capture_output=True, text=True, timeout=60)
        check('aw-bits=%d refused, naming the allowed values' % aw,
              p.returncode != 0 and
              'aw-bits must be 39, 48 or 57' in p.stderr, p.stderr.strip())


def test_capability(binary, fw):
    for opts, sagaw, mgaw, fl5lp in (
            ('aw-bits=57', 0xe, 56, 0),
            ('aw-bits=57,x-scalable-mode=on,x-flts=on', 0xe, 56, 1),
            ('aw-bits=48,x-scalable-mode=on,x-flts=on', 0x6, 47, 0),
            ('aw-bits=39', 0x2, 38, 0)):
        q = qv.Qtest(binary, fw, [], devices=['-device', 'intel-iommu,' + opts],
                     machine='q35')
        cap = q.rd('q', BASE + 0x08)
        q.close()
        got = (cap >> 8 & 0x1f, cap >> 16 & 0x3f, cap >> 60 & 1)
        check('%s: SAGAW 0x%x, MGAW %d, FL5LP %d' % (opts, sagaw, mgaw, fl5lp),
              got == (sagaw, mgaw, fl5lp), 'read %s' % (got,))


def test_dma_above_2_48(binary, fw):
    q, t, dev = start(binary, fw, 57)
    for _ in range(8):
        dev.kick(blk.PER_KICK)
    status = q.read(blk.REQ + 0x1000, blk.PER_KICK)
    check('aw-bits=57: 512 reads at IOVAs above 2^48 through 5 levels',
          status == bytes(blk.PER_KICK) and not blk.vtd_fault_addrs(q),
          'status %s, faults %s' % (status.hex(), blk.vtd_fault_addrs(q)))
    before = q.rd('w', qv.USED + 2)
    t.unmap(HIGH + qv.USED)
    blk.vtd_page_inv(q, HIGH + qv.USED)
    make_available(q, dev, 1)
    faults = blk.vtd_fault_addrs(q)
    check('aw-bits=57: the used ring unmapped: nothing lands, the fault '
          'holds the 57-bit address', q.rd('w', qv.USED + 2) == before and
          faults and set(faults) == {HIGH + qv.USED},
          'faults %s' % [hex(f) for f in faults])
    q.close()


def test_5_levels_refused_at_48(binary, fw):
    q, t, dev = start(binary, fw, 48)
    make_available(q, dev, 1)
    fsts = q.rd('l', BASE + 0x34)
    check('aw-bits=48: a 5-level context is refused, nothing lands',
          q.rd('w', qv.USED + 2) == 0 and fsts & 2, 'FSTS 0x%x' % fsts)
    q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    test_refused(binary, fw)
    test_capability(binary, fw)
    test_dma_above_2_48(binary, fw)
    test_5_levels_refused_at_48(binary, fw)
    return summary('vtd_aw57')


if __name__ == '__main__':
    sys.exit(main())
