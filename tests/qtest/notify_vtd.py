#!/usr/bin/env python3
"""Our intel-iommu's notifiers, as VFIO sees them, over qtest on q35.

x-host-iommu-stub,notifier=on listens to its DMA address space as VFIO
does and counts the MAPs and UNMAPs it gets, and those VFIO's type1
container would refuse (a MAP over a held mapping, an UNMAP that is not
exactly one held mapping). With caching-mode=on the guest's tables change
and it invalidates; each check compares what the stub holds with the
tables, and counts the events: nothing is unmapped that did not change,
and invalidations of another domain or device send nothing at all.

Usage: notify_vtd.py QEMU_BINARY FIRMWARE_DIR
       notify_vtd.py QEMU_BINARY FIRMWARE_DIR bench ROUNDS MAPPINGS
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402
from hostile_vtd import (Vtd, wait_desc, GCMD, GSTS, RTADDR, SRTP,  # noqa: E402
                         TE, ROOT)

CTX = 0x200000                 # context table of bus 0
PT = 0x210000                  # the stub's tables: L3, L2, then L1 pages
OTHER_PT = 0x300000            # edu's (domain 2): one page, nothing mapped
DATA = 0x1000000               # what the stub's IOVAs map onto
IOVA = 0x40000000              # the stub's IOVA window: 1 GiB, 512 L1 pages
STUB_DOMAIN, EDU_DOMAIN = 1, 2


class Stub:
    def __init__(self, binary, fw, opts=''):
        self.v = Vtd(binary, fw, ',caching-mode=on',
                     more=('-device', 'x-host-iommu-stub,notifier=on' + opts))
        self.q = self.v.q
        self.fn = qv.find(self.q, 0x1b36, 0x0005)
        bars, _ = qv.map_bars(self.q, self.fn, self.v.next_bar)
        self.bar = bars[0]

    def counts(self):
        return tuple(self.q.rd('q', self.bar + 8 * i) for i in range(4))

    def zero(self):
        self.q.wr('q', self.bar, 0)


def context(q, devfn, domain, table):
    q.mem(CTX + 16 * devfn, struct.pack('<QQ', table | 1, domain << 8 | 1))


def tables(s, l1_pages=1):
    """Root and context entries; the stub's 3-level table with @l1_pages
    empty L1 tables for IOVA up (2 MiB each), edu's empty table."""
    q, v = s.q, s.v
    q.mem(ROOT, struct.pack('<QQ', CTX | 1, 0))
    context(q, s.fn, STUB_DOMAIN, PT)
    context(q, v.edu_fn, EDU_DOMAIN, OTHER_PT)
    q.mem(PT, b'\0' * 4096)
    q.mem(PT + 8 * (IOVA >> 30), struct.pack('<Q', (PT + 0x1000) | 3))
    q.mem(PT + 0x1000, b''.join(struct.pack('<Q', (PT + 0x2000 + 0x1000 * i) | 3)
                                 for i in range(l1_pages)))
    q.mem(PT + 0x2000, b'\0' * 4096 * l1_pages)
    q.mem(OTHER_PT, b'\0' * 4096)
    v.wr(RTADDR, ROOT, 8)
    v.gcmd(SRTP)
    v.enable_qi()
    v.submit((1 | 1 << 4, 0), (2 | 1 << 4, 0))      # global cc and IOTLB
    v.gcmd(TE)


def pte(q, page, present=True, out=None):
    """Maps IOVA page @page (from IOVA) onto DATA + page (or @out)."""
    out = DATA + 0x1000 * page if out is None else out
    q.mem(PT + 0x2000 + 8 * page, struct.pack('<Q', (out | 3) if present else 0))


def page_inv(v, page, am=0, domain=STUB_DOMAIN):
    v.submit((2 | 3 << 4 | domain << 16, (IOVA + 0x1000 * page) | am),
             wait_desc(sw=True, data=1))


def domain_inv(v, domain):
    v.submit((2 | 2 << 4 | domain << 16, 0), wait_desc(sw=True, data=1))


def device_cc_inv(v, devfn, domain):
    v.submit((1 | 3 << 4 | domain << 16 | devfn << 32, 0),
             wait_desc(sw=True, data=1))


def test(binary, fw):
    s = Stub(binary, fw)
    v, q = s.v, s.q
    tables(s)
    check('translation on, the stub\'s notifier registered, nothing held',
          v.rd(GSTS) & TE and s.counts() == (0, 0, 0, 0), str(s.counts()))
    for page in range(16):
        pte(q, page)
    page_inv(v, 0, am=4)                                # 16 pages at once
    check('16 pages mapped: one 64 KiB MAP', s.counts() == (1, 0, 0, 0x10000),
          str(s.counts()))
    s.zero()
    pte(q, 5, present=False)
    page_inv(v, 5)
    m, u, r, held = s.counts()
    check('page 5 unmapped: the 64 KiB UNMAP, MAPs of the rest, nothing '
          'refused', u == 1 and r == 0 and held == 0xf000 and m == 4,
          str(s.counts()))
    s.zero()
    for inv in (lambda: domain_inv(v, EDU_DOMAIN),
                lambda: device_cc_inv(v, v.edu_fn, EDU_DOMAIN),
                lambda: device_cc_inv(v, s.fn, STUB_DOMAIN),
                lambda: domain_inv(v, STUB_DOMAIN),
                lambda: page_inv(v, 0, am=9)):
        inv()
    check('invalidations of the other domain and device, and of unchanged '
          'tables: no event', s.counts() == (0, 0, 0, 0xf000), str(s.counts()))
    pte(q, 7, out=DATA + 0x100000)
    page_inv(v, 7)
    m, u, r, held = s.counts()
    # the held mapping with page 7 goes whole, as it was mapped (6-7, 8-15)
    check('page 7 moved: the mapping that held it unmapped as mapped, the '
          'new layout mapped', r == 0 and held == 0xf000 and u == 2 and
          m == 3, str(s.counts()))
    s.zero()
    v.wr(GCMD, v.rd(GSTS) & 0x96800000 & ~TE)          # translation off
    m, u, r, held = s.counts()
    check('translation off: what the notifier held unmapped, the notifier '
          'gone with the region', not v.rd(GSTS) & TE and m == 0 and
          u >= 1 and r == 0 and held == 0, str(s.counts()))
    check('QEMU keeps running', v.alive())
    v.close()


def test_unmap_only(binary, fw):
    """UNMAP-only notifiers (vhost's kind): one per section of the space
    (the interrupt window splits it), each told of the invalidated range
    cut to its own, for global, domain, device and page invalidations."""
    s = Stub(binary, fw, ',unmap-only=on')
    v, q = s.v, s.q
    tables(s)
    pte(q, 0)
    for inv in (lambda: v.submit((2 | 1 << 4, 0), wait_desc(sw=True)),
                lambda: domain_inv(v, STUB_DOMAIN),
                lambda: device_cc_inv(v, s.fn, STUB_DOMAIN),
                lambda: page_inv(v, 0, am=9)):
        inv()
    m, u, r, _ = s.counts()
    check('unmap-only notifiers: UNMAPs for every kind of invalidation, '
          'QEMU keeps running', v.alive() and u > 4 and m == 0 and r == 0,
          str(s.counts()))
    v.close()


def test_deviotlb(binary, fw):
    """Device-IOTLB notifiers (vhost's with ATS): a device-IOTLB
    invalidation of the device's SID reaches them, one of another SID
    does not, IOTLB invalidations do not."""
    s = Stub(binary, fw, ',deviotlb=on')
    v, q = s.v, s.q
    tables(s)
    sid = s.fn                                      # bus 0
    # S set, address bits 18:12 ones: 1 MiB at IOVA (6.5.2.5)
    devtlb = (lambda src: (3 | src << 32, IOVA | 0x7f000 | 1))
    v.submit((2 | 1 << 4, 0), wait_desc(sw=True))   # global IOTLB
    v.submit(devtlb(v.edu_fn), wait_desc(sw=True))  # another device
    quiet = s.counts()[1] == 0
    v.submit(devtlb(sid), wait_desc(sw=True))       # this one: 1 MiB at IOVA
    m, u, r, _ = s.counts()
    check('device-IOTLB notifier: only its own device-IOTLB invalidations',
          quiet and u >= 1 and m == 0 and v.alive(), str(s.counts()))
    v.close()


def bench(binary, fw, rounds, mappings):
    """Invalidations a second with the stub's notifier attached: page-
    selective (one PTE toggled each time), and domain-selective over a
    domain holding @mappings pages (one PTE toggled each time)."""
    s = Stub(binary, fw)
    v, q = s.v, s.q
    tables(s, l1_pages=(mappings + 511) // 512)
    for page in range(0, mappings, 512):
        n = min(512, mappings - page)
        q.mem(PT + 0x2000 + 8 * page, b''.join(
            struct.pack('<Q', (DATA + 0x2000 * (page + i)) | 3) for i in range(n)))
    domain_inv(v, STUB_DOMAIN)
    if s.counts()[3] != mappings * 4096 or s.counts()[2]:
        raise RuntimeError('the stub holds %s' % (s.counts(),))
    figures = []
    for inv in (lambda i: page_inv(v, i % 64),
                lambda i: domain_inv(v, STUB_DOMAIN)):
        t0 = time.perf_counter()
        for i in range(rounds):
            pte(q, i % 64, present=bool(i & 64), out=DATA + 0x2000 * (i % 64))
            inv(i)
        figures.append(rounds / (time.perf_counter() - t0))
        rounds = max(rounds // 20, 10)
    if s.counts()[2]:
        raise RuntimeError('refused events: %s' % (s.counts(),))
    v.close()
    print('%.0f %.0f' % tuple(figures))


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == 'bench':
        bench(binary, fw, int(sys.argv[4]), int(sys.argv[5]))
        return 0
    test(binary, fw)
    test_unmap_only(binary, fw)
    test_deviotlb(binary, fw)
    return summary('notify_vtd')


if __name__ == '__main__':
    sys.exit(main())
