#!/usr/bin/env python3
"""Our amd-iommu's notifiers, as VFIO sees them, over qtest on q35.

x-host-iommu-stub,notifier=on listens to its DMA address space as VFIO
does and counts the MAPs and UNMAPs it gets, and those VFIO's type1
container would refuse (a MAP over a held mapping, an UNMAP that is not
exactly one held mapping). The guest's v1 tables change and it sends
INVALIDATE_IOMMU_PAGES (as Linux does on map too: the capability says
NpCache); each check compares what the stub holds with the tables and
counts the events: nothing is unmapped that did not change, and
invalidations of another domain or device send nothing at all. Then the
same for UNMAP-only notifiers (vhost) and INVALIDATE_IOTLB_PAGES
(device-IOTLB notifiers).

Usage: notify_amd.py QEMU_BINARY FIRMWARE_DIR
       notify_amd.py QEMU_BINARY FIRMWARE_DIR bench ROUNDS MAPPINGS
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402
from hostile_amd import Amd, cw, inv_devtab, inv_pages_all, CW  # noqa: E402

PT = 0x200000                  # the stub's tables: L3, L2, then L1 pages
OTHER_PT = 0x300000            # edu's (domain 2): nothing mapped
DATA = 0x1000000               # what the stub's IOVAs map onto
IOVA = 0x40000000              # the stub's IOVA window: 1 GiB, 512 L1 pages
STUB_DOMAIN, EDU_DOMAIN = 1, 2
RW = 3 << 61


class Stub:
    def __init__(self, binary, fw, opts=''):
        self.a = Amd(binary, fw, ',device-iotlb=on',
                     more=('-device', 'x-host-iommu-stub,notifier=on' + opts))
        self.q = self.a.q
        self.fn = qv.find(self.q, 0x1b36, 0x0005)
        bars, _ = qv.map_bars(self.q, self.fn, self.a.next_bar)
        self.bar = bars[0]

    def counts(self):
        return tuple(self.q.rd('q', self.bar + 8 * i) for i in range(4))

    def zero(self):
        self.q.wr('q', self.bar, 0)


def dte(a, devid, domain, root, mode=3):
    a.q.mem(0x100000 + 32 * devid,
            struct.pack('<QQQQ', 3 | mode << 9 | root | RW, domain, 0, 0))


def tables(s, l1_pages=1):
    """The stub's mode-3 table with @l1_pages empty L1 tables from IOVA up
    (2 MiB each), edu's empty table; the IOMMU on."""
    q, a = s.q, s.a
    q.mem(PT, b'\0' * 4096)
    q.mem(PT + 8 * (IOVA >> 30), struct.pack('<Q', (PT + 0x1000) | 2 << 9 | 1 | RW))
    q.mem(PT + 0x1000, b''.join(struct.pack('<Q', (PT + 0x2000 + 0x1000 * i) |
                                            1 << 9 | 1 | RW)
                                for i in range(l1_pages)))
    q.mem(PT + 0x2000, b'\0' * 4096 * l1_pages)
    q.mem(OTHER_PT, b'\0' * 4096)
    dte(a, s.fn, STUB_DOMAIN, PT)
    dte(a, a.edu_fn, EDU_DOMAIN, OTHER_PT)
    a.enable()
    a.submit((0, 8 << 28, 0, 0), cw(CW, 1))         # INVALIDATE_IOMMU_ALL


def pte(q, page, present=True, out=None):
    """Maps IOVA page @page (from IOVA) onto DATA + page (or @out)."""
    out = DATA + 0x1000 * page if out is None else out
    q.mem(PT + 0x2000 + 8 * page,
          struct.pack('<Q', (out | 1 | RW) if present else 0))


def page_inv(a, page, order=0, domain=STUB_DOMAIN):
    """INVALIDATE_IOMMU_PAGES of 2^@order pages from IOVA page @page."""
    addr = IOVA + 0x1000 * page
    if order:
        addr |= (1 << (11 + order)) - 0x1000 | 1      # S: the size in the bits
    a.submit((0, domain | 3 << 28, addr & 0xffffffff, addr >> 32),
             cw(CW, 1))


def domain_inv(a, domain):
    a.submit(inv_pages_all(domain), cw(CW, 1))


def test(binary, fw):
    s = Stub(binary, fw)
    a, q = s.a, s.q
    tables(s)
    check('IOMMU on, the stub\'s notifier registered, nothing held',
          s.counts() == (0, 0, 0, 0), str(s.counts()))
    for page in range(16):
        pte(q, page)
    page_inv(a, 0, order=4)                             # 16 pages at once
    check('16 pages mapped: one 64 KiB MAP', s.counts() == (1, 0, 0, 0x10000),
          str(s.counts()))
    s.zero()
    pte(q, 5, present=False)
    page_inv(a, 5)
    m, u, r, held = s.counts()
    check('page 5 unmapped: the 64 KiB UNMAP, MAPs of the rest, nothing '
          'refused', u == 1 and r == 0 and held == 0xf000 and m == 4,
          str(s.counts()))
    s.zero()
    for inv in (lambda: domain_inv(a, EDU_DOMAIN),
                lambda: a.submit(inv_devtab(a.edu_fn), cw(CW, 1)),
                lambda: a.submit(inv_devtab(s.fn), cw(CW, 1)),
                lambda: domain_inv(a, STUB_DOMAIN),
                lambda: page_inv(a, 0, order=9)):
        inv()
    check('invalidations of the other domain and device, and of unchanged '
          'tables: no event', s.counts() == (0, 0, 0, 0xf000), str(s.counts()))
    pte(q, 7, out=DATA + 0x100000)
    page_inv(a, 7)
    m, u, r, held = s.counts()
    check('page 7 moved: the mapping that held it unmapped as mapped, the '
          'new layout mapped', r == 0 and held == 0xf000 and u == 2 and
          m == 3, str(s.counts()))
    s.zero()
    dte(a, s.fn, STUB_DOMAIN, 0, mode=0)                # identity, Mode 0
    a.submit(inv_devtab(s.fn), cw(CW, 1))
    m, u, r, held = s.counts()
    check('the device switched to Mode 0: what the notifier held unmapped, '
          'the notifier gone with the region', m == 0 and u >= 1 and
          r == 0 and held == 0, str(s.counts()))
    dte(a, s.fn, STUB_DOMAIN, PT)
    a.submit(inv_devtab(s.fn), cw(CW, 1))
    check('and back to its tables: replayed', s.counts()[3] == 0xf000 and
          s.counts()[2] == 0, str(s.counts()))
    check('no event logged, QEMU keeps running',
          a.events() == [] and a.alive())
    a.close()


def test_unmap_only(binary, fw):
    """UNMAP-only notifiers (vhost's kind) are told of every invalidated
    range of their domain or device, cut to their own."""
    s = Stub(binary, fw, ',unmap-only=on')
    a, q = s.a, s.q
    tables(s)
    pte(q, 0)
    for inv in (lambda: a.submit((0, 8 << 28, 0, 0), cw(CW, 1)),
                lambda: domain_inv(a, STUB_DOMAIN),
                lambda: a.submit(inv_devtab(s.fn), cw(CW, 1)),
                lambda: page_inv(a, 0, order=9)):
        inv()
    m, u, r, _ = s.counts()
    check('unmap-only notifiers: UNMAPs for every kind of invalidation, '
          'QEMU keeps running', a.alive() and u > 4 and m == 0 and r == 0,
          str(s.counts()))
    a.close()


def test_deviotlb(binary, fw):
    """Device-IOTLB notifiers (vhost's with ATS): INVALIDATE_IOTLB_PAGES
    of the device reaches them, of another device does not, and
    INVALIDATE_IOMMU_PAGES does not."""
    s = Stub(binary, fw, ',deviotlb=on')
    a, q = s.a, s.q
    tables(s)

    def iotlb(devid):                   # S: 1 MiB at IOVA
        return (devid, 4 << 28, (IOVA | 0x7f000 | 1) & 0xffffffff, IOVA >> 32)
    domain_inv(a, STUB_DOMAIN)
    a.submit(iotlb(a.edu_fn), cw(CW, 1))
    quiet = s.counts()[1] == 0
    a.submit(iotlb(s.fn), cw(CW, 1))
    m, u, r, _ = s.counts()
    check('device-IOTLB notifier: only its own INVALIDATE_IOTLB_PAGES',
          quiet and u >= 1 and m == 0 and a.alive(), str(s.counts()))
    a.close()


def bench(binary, fw, rounds, mappings):
    """Invalidations a second with the stub's notifier attached: one page
    (one PTE toggled each time), and a whole domain holding @mappings
    pages (one PTE toggled each time)."""
    s = Stub(binary, fw)
    a, q = s.a, s.q
    tables(s, l1_pages=(mappings + 511) // 512)
    for page in range(0, mappings, 512):
        n = min(512, mappings - page)
        q.mem(PT + 0x2000 + 8 * page, b''.join(
            struct.pack('<Q', (DATA + 0x2000 * (page + i)) | 1 | RW)
            for i in range(n)))
    domain_inv(a, STUB_DOMAIN)
    if s.counts()[3] != mappings * 4096 or s.counts()[2]:
        raise RuntimeError('the stub holds %s' % (s.counts(),))
    figures = []
    for inv in (lambda i: page_inv(a, i % 64),
                lambda i: domain_inv(a, STUB_DOMAIN)):
        t0 = time.perf_counter()
        for i in range(rounds):
            pte(q, i % 64, present=bool(i & 64), out=DATA + 0x2000 * (i % 64))
            inv(i)
        figures.append(rounds / (time.perf_counter() - t0))
        rounds = max(rounds // 20, 10)
    if s.counts()[2]:
        raise RuntimeError('refused events: %s' % (s.counts(),))
    a.close()
    print('%.0f %.0f' % tuple(figures))


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == 'bench':
        bench(binary, fw, int(sys.argv[4]), int(sys.argv[5]))
        return 0
    test(binary, fw)
    test_unmap_only(binary, fw)
    test_deviotlb(binary, fw)
    return summary('notify_amd')


if __name__ == '__main__':
    sys.exit(main())
