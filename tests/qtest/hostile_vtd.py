#!/usr/bin/env python3
"""A hostile guest against our intel-iommu (VT-d), over qtest on q35.

What stock QEMU 10.0.2 aborts on (an 8-byte write to FECTL, IECTL or
IEADDR; an invalidation wait with both Status Write and Interrupt Flag),
every descriptor type with a bad field (IQE with IQEI, the queue stopped
at that descriptor and running again once software fixed it and cleared
IQE), DMA of an edu device through legacy tables (data intact; a fault
recorded with its reason, source and page), tables pointing outside RAM
or full of random bits, and a seeded random walk through registers,
descriptors, tables and DMA. Each time QEMU keeps answering and the
registers say what the spec says.

Usage: hostile_vtd.py QEMU_BINARY FIRMWARE_DIR [STEPS]
"""
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

BASE = 0xfed90000
GCMD, GSTS, RTADDR, CCMD = 0x18, 0x1c, 0x20, 0x28
CAP, FSTS, FECTL, IQH, IQT, IQA = 0x08, 0x34, 0x38, 0x80, 0x88, 0x90
ICS, IECTL, IEADDR, IQERCD, IOTLB, FRCD = 0x9c, 0xa0, 0xa8, 0xb0, 0xf8, 0x220
TE, SRTP, QIE = 1 << 31, 1 << 30, 1 << 26
IQE, PPF, PFO = 1 << 4, 1 << 1, 1 << 0

ROOT, CTX, SLPT = 0x100000, 0x101000, 0x102000   # SLPT: 3 pages
IQ, STATUS, DATA = 0x110000, 0x120000, 0x130000
EDU_BAR = 0xe0000000
IOVA = 0x400000


class Vtd:
    def __init__(self, binary, fw, opts='', more=()):
        self.q = qv.Qtest(binary, fw, [], machine='q35',
                          devices=('-device', 'intel-iommu' + opts,
                                   '-device', 'edu') + tuple(more))
        self.tail = 0
        self.edu_fn = qv.find(self.q, 0x1234, 0x11e8)
        bars, self.next_bar = qv.map_bars(self.q, self.edu_fn, EDU_BAR)
        self.edu = bars[0]

    def rd(self, off, size=4):
        return self.q.rd({1: 'b', 2: 'w', 4: 'l', 8: 'q'}[size], BASE + off)

    def wr(self, off, val, size=4):
        self.q.wr({1: 'b', 2: 'w', 4: 'l', 8: 'q'}[size], BASE + off, val)

    def alive(self):
        try:
            return self.rd(0) == 0x10
        except (RuntimeError, OSError):
            return False

    def gcmd(self, bit):
        self.wr(GCMD, (self.rd(GSTS) & 0x96800000) | bit)

    def enable_qi(self):
        self.wr(IQA, IQ, 8)                 # 256 descriptors of 128 bits
        self.wr(IQT, 0, 8)
        self.gcmd(QIE)
        self.tail = 0

    def submit(self, *descs):
        for lo, hi in descs:
            self.q.mem(IQ + 16 * self.tail, struct.pack('<QQ', lo, hi))
            self.tail = (self.tail + 1) % 256
        self.wr(IQT, self.tail << 4, 8)

    def head(self):
        return self.rd(IQH, 8) >> 4

    def dma(self, src, dst, size, to_ram):
        """One edu transfer (RAM to edu, or edu to RAM), 100 ms of its time."""
        self.q.cmds(['writeq 0x%x 0x%x' % (self.edu + 0x80, src),
                     'writeq 0x%x 0x%x' % (self.edu + 0x88, dst),
                     'writeq 0x%x 0x%x' % (self.edu + 0x90, size),
                     'writeq 0x%x 0x%x' % (self.edu + 0x98, 3 if to_ram else 1),
                     'clock_step 100000000'])

    def close(self):
        self.q.close()


def wait_desc(sw=False, intr=False, fence=False, data=0, addr=STATUS):
    return (5 | intr << 4 | sw << 5 | fence << 6 | data << 32, addr)


GOOD = {
    'context-cache': (1 | 1 << 4, 0),                   # global
    'iotlb': (2 | 1 << 4, 0),                           # global
    'device-iotlb': (3, 0x1000),
    'interrupt entry cache': (4, 0),                    # global
    'wait': wait_desc(sw=True, data=0x1234),
}
BAD = {
    'context-cache reserved bit': (1 | 1 << 4 | 1 << 63, 0),
    'context-cache granularity 0': (1, 0),
    'iotlb reserved bit': (2 | 1 << 4, 1 << 8),
    'iotlb granularity 0': (2, 0),
    'device-iotlb reserved bit': (3 | 1 << 5, 0),
    'interrupt entry cache reserved bit': (4 | 1 << 5, 0),
    'wait reserved address bits': (5 | 1 << 5, STATUS | 1),
    'PASID-IOTLB in legacy mode': (6 | 1 << 4, 0),
    'unknown type 15': (15, 0),
}


def test_register_sizes(binary, fw):
    """Every offset, every size, read and written: stock 10.0.2 aborts on
    8-byte writes to FECTL, IECTL and IEADDR."""
    v = Vtd(binary, fw)
    for off in (FECTL, IECTL, IEADDR):
        v.wr(off, 0xffffffffffffffff, 8)
        check('8-byte write at 0x%x' % off, v.alive())
    ok = True
    for off in range(0, 0x238):
        for size in (1, 2, 4, 8):
            v.rd(off, size)
            if off not in (GCMD, GCMD + 1, GCMD + 2, GCMD + 3):
                v.wr(off, 0, size)
    ok = v.alive()
    check('reads and zero writes of 1, 2, 4, 8 bytes at every offset', ok)
    check('capabilities unchanged by writes', v.rd(8, 8) == 0x00d2078c222f0606,
          hex(v.rd(8, 8)))
    v.close()


def test_wait_sw_if(binary, fw):
    v = Vtd(binary, fw)
    v.enable_qi()
    check('QI enabled', v.rd(GSTS) & QIE)
    v.q.mem(STATUS, b'\0' * 4)
    v.submit(wait_desc(sw=True, intr=True, fence=True, data=0xc0ffee))
    check('wait with SW, IF and FN: QEMU runs', v.alive())
    check('wait: status written', v.q.read(STATUS, 4) ==
          struct.pack('<I', 0xc0ffee))
    check('wait: ICS.IWC set', v.rd(ICS) & 1)
    check('wait: IECTL.IP set while masked', v.rd(IECTL) >> 30 == 3)
    v.wr(ICS, 1)
    check('ICS.IWC cleared by writing 1, IP with it',
          v.rd(ICS) == 0 and v.rd(IECTL) >> 30 == 2)
    v.close()


def test_descriptors(binary, fw):
    v = Vtd(binary, fw)
    v.enable_qi()
    for name, desc in GOOD.items():
        before = v.head()
        v.submit(desc)
        check('%s: consumed, no IQE' % name,
              v.head() == before + 1 and not v.rd(FSTS) & IQE)
    for name, desc in BAD.items():
        at = v.tail
        v.q.mem(STATUS, b'\0' * 4)
        v.submit(desc, wait_desc(sw=True, data=0x5a5a))
        fsts, iqei = v.rd(FSTS), v.rd(IQERCD, 8) & 0xf
        check('%s: IQE, IQEI 3, head stays at it' % name,
              fsts & IQE and iqei == 3 and v.head() == at,
              'FSTS 0x%x IQEI %d head %d at %d' % (fsts, iqei, v.head(), at))
        check('%s: nothing after it ran' % name,
              v.q.read(STATUS, 4) == b'\0' * 4)
        # what Linux does: overwrite it with a wait, clear IQE
        v.q.mem(IQ + 16 * at, struct.pack('<QQ', *wait_desc(sw=True, data=7)))
        v.wr(FSTS, IQE)
        check('%s: runs on once IQE is cleared' % name,
              not v.rd(FSTS) & IQE and v.head() == v.tail and
              v.q.read(STATUS, 4) == struct.pack('<I', 0x5a5a))
    check('QEMU keeps running', v.alive())
    v.close()


def legacy_tables(v, mapped=True):
    """Root entry of bus 0 -> context of edu -> 3-level SL table mapping
    IOVA..IOVA+8K onto DATA (read/write), domain 1."""
    v.q.mem(ROOT, struct.pack('<QQ', CTX | 1, 0))
    v.q.mem(CTX + 16 * v.edu_fn, struct.pack('<QQ', SLPT | 1, 1 << 8 | 1))
    v.q.mem(SLPT, struct.pack('<Q', (SLPT + 0x1000) | 3))           # L3
    v.q.mem(SLPT + 0x1000 + 8 * (IOVA >> 21),
            struct.pack('<Q', (SLPT + 0x2000) | 3))                   # L2
    if mapped:
        v.q.mem(SLPT + 0x2000, struct.pack('<QQ', DATA | 3, DATA + 0x1000 | 3))
    v.wr(RTADDR, ROOT, 8)
    v.gcmd(SRTP)
    v.enable_qi()
    v.submit(GOOD['context-cache'], GOOD['iotlb'])
    v.gcmd(TE)


def test_dma(binary, fw):
    v = Vtd(binary, fw, ',aw-bits=39')
    legacy_tables(v)
    check('translation enabled', v.rd(GSTS) & TE)
    pattern = bytes(range(256)) * 16
    v.q.mem(DATA, pattern)
    v.dma(IOVA, 0x40000, 0x1000, to_ram=False)
    v.dma(0x40000, IOVA + 0x1000, 0x1000, to_ram=True)
    check('DMA through the tables: data intact',
          v.q.read(DATA + 0x1000, 0x1000) == pattern)
    check('no fault', v.rd(FSTS) == 0, hex(v.rd(FSTS)))
    v.dma(IOVA + 0x3000, 0x40000, 0x1000, to_ram=False)   # not mapped
    fsts, hi, lo = v.rd(FSTS), v.rd(FRCD + 8, 8), v.rd(FRCD, 8)
    check('unmapped read: PPF, record with F, reason 6, edu, page',
          fsts & PPF and hi >> 63 and (hi >> 32) & 0xff == 6 and
          hi & 0xffff == v.edu_fn and lo == IOVA + 0x3000,
          'FSTS 0x%x FRCD 0x%x_%x' % (fsts, hi, lo))
    nfr = (v.rd(CAP, 8) >> 40 & 0xff) + 1
    for i in range(1, nfr):
        v.dma(IOVA + 0x4000 + 0x1000 * i, 0x40000, 0x1000, to_ram=False)
    fsts = v.rd(FSTS)
    check('%d faults fill the %d records in turn; FRI stays on the first '
          'pending' % (nfr, nfr), nfr >= 8 and fsts == PPF and
          all(v.rd(FRCD + 16 * i, 8) == IOVA + 0x4000 + 0x1000 * i and
              v.rd(FRCD + 16 * i + 8, 8) >> 63 for i in range(1, nfr)),
          'NFR %d FSTS 0x%x' % (nfr, fsts))
    v.dma(IOVA + 0x4000, 0x40000, 0x1000, to_ram=False)
    check('one more with every record pending: PFO, the records kept',
          v.rd(FSTS) & PFO and v.rd(FRCD, 8) == IOVA + 0x3000 and
          (v.rd(FRCD + 8, 8) >> 32) & 0xff == 6)
    v.wr(FRCD + 12, 1 << 31)
    check('the first record cleared: PPF stays, others pending',
          v.rd(FSTS) & PPF)
    for i in range(1, nfr):
        v.wr(FRCD + 16 * i + 12, 1 << 31)
    v.wr(FSTS, PFO)
    check('records and PFO cleared by software', v.rd(FSTS) == 0)
    v.dma(IOVA + 0x3000, 0x40000, 0x1000, to_ram=False)
    check('the next fault wraps to record 0, and FRI names it',
          v.rd(FSTS) == PPF and v.rd(FRCD + 8, 8) >> 63)
    v.wr(FRCD + 12, 1 << 31)
    v.dma(IOVA + 0x3000, 0x40000, 0x1000, to_ram=False)
    check('cleared, the next goes to record 1: FRI 1',
          v.rd(FSTS) == PPF | 1 << 8 and v.rd(FRCD + 24, 8) >> 63,
          'FSTS 0x%x' % v.rd(FSTS))
    v.wr(FRCD + 28, 1 << 31)
    # the context now points outside RAM, then the tables hold random bits
    v.q.mem(CTX + 16 * v.edu_fn, struct.pack('<QQ', 0x7ffffff000 | 1, 1 << 8 | 1))
    v.submit(GOOD['context-cache'], GOOD['iotlb'])
    v.dma(IOVA, 0x40000, 0x1000, to_ram=False)
    first = FRCD + 16 * (v.rd(FSTS) >> 8 & 0xff)     # FRI
    check('tables outside RAM: a fault (paging read, 0x7)',
          (v.rd(first + 8, 8) >> 32) & 0xff == 7, hex(v.rd(first + 8, 8)))
    for i in range(8):
        v.wr(FRCD + 16 * i + 12, 1 << 31)
    rng = random.Random(10)
    for i in range(50):
        v.q.mem(SLPT, bytes(rng.getrandbits(8) for _ in range(3 * 4096)))
        v.q.mem(CTX + 16 * v.edu_fn,
                struct.pack('<QQ', rng.getrandbits(64), rng.getrandbits(64)))
        v.submit(GOOD['context-cache'], GOOD['iotlb'])
        v.dma(IOVA, 0x40000, 0x1000, to_ram=bool(i & 1))
        v.wr(FRCD + 12, 1 << 31)
        v.wr(FSTS, 0xff)
    check('50 random tables and contexts: QEMU keeps running', v.alive())
    v.close()


def test_random_walk(binary, fw, steps):
    """Random registers, descriptors, tables and DMA from a fixed seed."""
    v = Vtd(binary, fw, ',intremap=on,caching-mode=on')
    rng = random.Random(2026)
    legacy_tables(v)
    ok = True
    for i in range(steps):
        k = rng.randrange(5)
        if k == 0:
            size = rng.choice((1, 2, 4, 8))
            v.wr(rng.randrange(0, 0x238), rng.getrandbits(8 * size), size)
        elif k == 1:
            v.q.mem(IQ + 16 * rng.randrange(256),
                    struct.pack('<QQ', rng.getrandbits(64) & ~0xff0 |
                                rng.randrange(1, 9), rng.getrandbits(64)))
            v.wr(IQT, rng.randrange(256) << 4, 8)
        elif k == 2:
            page = rng.choice((ROOT, CTX, SLPT, SLPT + 0x1000, SLPT + 0x2000))
            v.q.mem(page + 8 * rng.randrange(512),
                    struct.pack('<Q', rng.getrandbits(64)))
        elif k == 3:
            v.dma(IOVA + 0x1000 * rng.randrange(4), 0x40000, 0x1000,
                  to_ram=rng.random() < 0.5)
        else:
            v.rd(rng.randrange(0, 0x238), rng.choice((1, 2, 4, 8)))
        if i % 100 == 99 and not v.alive():
            ok = False
            break
    check('%d random steps: QEMU keeps running' % steps, ok and v.alive())
    v.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    test_register_sizes(binary, fw)
    test_wait_sw_if(binary, fw)
    test_descriptors(binary, fw)
    test_dma(binary, fw)
    test_random_walk(binary, fw, steps)
    return summary('hostile_vtd')


if __name__ == '__main__':
    sys.exit(main())
