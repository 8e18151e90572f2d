#!/usr/bin/env python3
"""intel-iommu in scalable mode: what PASID-cache invalidation does, over
qtest on q35 (edu's DMA through RID_PASID's PASID entry, second stage).

- the PASID entry names tables A: DMA reads A's data;
- the entry changed to tables B: until it is invalidated, the cached
  entry still answers (hardware may cache it); after a PASID-selective
  PASID-cache invalidation and a PASID-based IOTLB invalidation, B's data;
- the entry changed to pass-through (PGTT 4) and invalidated: DMA goes
  to the IOVA as a guest-physical address, and query-viommu says
  "identity";
- the entry made not present and a domain-selective PASID-cache
  invalidation: DMA faults (reason 0x59), and query-viommu says "blocked".

Usage: vtd_pasid_cache.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import hostile_vtd as hv  # noqa: E402
import viommu_info as vi  # noqa: E402
from checks import check, summary  # noqa: E402

ROOT, CTX, PDIR, PTAB = 0x100000, 0x101000, 0x102000, 0x103000
TABLES_A, TABLES_B = 0x104000, 0x108000       # 3 pages each
DATA_A, DATA_B, OUT = 0x130000, 0x131000, 0x132000
IOVA = 0x400000
PGTT_SS, PGTT_PT = 2, 4
TTM_SCALABLE = 1 << 10


def tables(v, base, data):
    """3-level second-stage tables at @base: IOVA -> @data, IOVA + 4K ->
    OUT."""
    v.q.mem(base, struct.pack('<Q', (base + 0x1000) | 3))
    v.q.mem(base + 0x1000 + 8 * (IOVA >> 21),
            struct.pack('<Q', (base + 0x2000) | 3))
    v.q.mem(base + 0x2000, struct.pack('<QQ', data | 3, OUT | 3))


def pasid_entry(v, present=True, pgtt=PGTT_SS, table=TABLES_A):
    """RID_PASID's (PASID 0) entry: domain 1, 3 levels (AW 1)."""
    q0 = (table if pgtt == PGTT_SS else 0) | pgtt << 6 | 1 << 2 | present
    v.q.mem(PTAB, struct.pack('<8Q', q0, 1, 0, 0, 0, 0, 0, 0))


def pc_inv(v, granularity, did=1, pasid=0):
    """A PASID-cache invalidation (7), then a wait for it."""
    v.submit((7 | granularity << 4 | did << 16 | pasid << 32, 0),
             hv.wait_desc(sw=True, data=0x77))


def piotlb_inv(v, did=1, pasid=0):
    """A PASID-based IOTLB invalidation (6) of all of @pasid in @did."""
    v.submit((6 | 2 << 4 | did << 16 | pasid << 32, 0))   # G 2: the PASID


def read_through(v, iova_src, iova_dst):
    v.q.mem(OUT, bytes(4))
    v.dma(iova_src, 0x40000, 4, to_ram=False)
    v.dma(0x40000, iova_dst, 4, to_ram=True)
    return v.q.read(OUT, 4)


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    path, more = vi.qmp_args()
    v = hv.Vtd(binary, fw, ',x-scalable-mode=on,aw-bits=39', more)
    m = vi.qv.Qmp(path)
    edu = vi.bdf_of(v.edu_fn)
    v.q.mem(DATA_A, b'AAAA')
    v.q.mem(DATA_B, b'BBBB')
    tables(v, TABLES_A, DATA_A)
    tables(v, TABLES_B, DATA_B)
    v.q.mem(ROOT, struct.pack('<QQ', CTX | 1, 0))       # devfn 0..127
    v.q.mem(CTX + 32 * (v.edu_fn % 128),
            struct.pack('<4Q', PDIR | 1, 0, 0, 0))     # RID_PASID 0
    v.q.mem(PDIR, struct.pack('<Q', PTAB | 1))
    pasid_entry(v)
    v.wr(hv.RTADDR, ROOT | TTM_SCALABLE, 8)
    v.gcmd(hv.SRTP)
    v.enable_qi()
    v.submit(hv.GOOD['context-cache'], hv.GOOD['iotlb'])
    v.gcmd(hv.TE)
    check('tables A: DMA reads their data',
          read_through(v, IOVA, IOVA + 0x1000) == b'AAAA')
    ep = vi.endpoint(vi.query(m)[0], edu)
    check('query-viommu: translated, domain 1, 2 mappings',
          ep and (ep['mode'], ep.get('domain'), ep.get('mappings')) ==
          ('translated', 1, 2), str(ep))

    pasid_entry(v, table=TABLES_B)
    check('changed, not invalidated: the cached entry still answers',
          read_through(v, IOVA, IOVA + 0x1000) == b'AAAA')
    pc_inv(v, 1)                                   # PASID-selective
    piotlb_inv(v)
    check('PASID-cache and PASID-IOTLB invalidations: tables B',
          read_through(v, IOVA, IOVA + 0x1000) == b'BBBB' and
          v.q.read(hv.STATUS, 4) == struct.pack('<I', 0x77) and
          not v.rd(hv.FSTS) & hv.IQE, 'FSTS 0x%x' % v.rd(hv.FSTS))

    pasid_entry(v, pgtt=PGTT_PT)
    pc_inv(v, 1)
    piotlb_inv(v)
    check('pass-through: the IOVA is the guest-physical address',
          read_through(v, DATA_A, OUT) == b'AAAA')
    ep = vi.endpoint(vi.query(m)[0], edu)
    check('query-viommu: identity, domain 1',
          ep and (ep['mode'], ep.get('domain')) == ('identity', 1), str(ep))

    pasid_entry(v, present=False)
    pc_inv(v, 0)                                   # domain-selective
    v.dma(DATA_A, 0x40000, 4, to_ram=False)
    fsts = v.rd(hv.FSTS)
    first = hv.FRCD + 16 * (fsts >> 8 & 0xff)
    check('not present: DMA faults, reason 0x59',
          fsts & hv.PPF and (v.rd(first + 8, 8) >> 32) & 0xff == 0x59,
          'FSTS 0x%x FRCD 0x%x' % (fsts, v.rd(first + 8, 8)))
    ep = vi.endpoint(vi.query(m)[0], edu)
    check('query-viommu: blocked', ep and ep['mode'] == 'blocked', str(ep))
    check('no queue error', not v.rd(hv.FSTS) & hv.IQE)
    v.close()
    return summary('vtd_pasid_cache')


if __name__ == '__main__':
    sys.exit(main())
