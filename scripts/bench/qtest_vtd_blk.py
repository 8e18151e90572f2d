#!/usr/bin/env python3
"""virtio-blk 4 KiB reads over qtest (q35, no guest CPU), with or without an
IOMMU in front: intel-iommu ("iommu" or "intel"), amd-iommu ("amd") or
virtio-iommu ("virtio"): the device's own speed against its speed through
the IOMMU. VT-d legacy tables, AMD-Vi v1 tables or virtio-iommu MAPs map
the ring and the buffers with 4 KiB pages, as Linux's DMA API would;
requests go 64 a kick from a null-co backend.

Usage: qtest_vtd_blk.py QEMU_BINARY FIRMWARE_DIR intel|amd|virtio|none KICKS
                        [AW-BITS [hit|miss]]
Prints one line: "<requests per second>". With AW-BITS (intel: 39, 48 or
57), the VT-d tables have 3, 4 or 5 levels; with "miss", a global IOTLB
invalidation comes before each kick, so that every translation of the kick
walks the tables (each request translates 3 pages: header, buffer, status).
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import qtest_viommu as qv  # noqa: E402

QSIZE = qv.QSIZE
PER_KICK = 64
REQ = 0x300000              # 16-byte headers, then status bytes
BUF = 0x400000              # 64 data buffers of 4 KiB
ROOT, CTX, PT = 0x500000, 0x501000, 0x502000
UPPER = 0x510000            # levels 4 and 5 above PT (aw-bits 48, 57)
LEVELS = {39: 3, 48: 4, 57: 5}
BASE = 0xfed90000


class VirtioBlk(qv.VirtioIommu):
    """The modern virtio-pci set-up of qtest_viommu (queue 0), taking
    VIRTIO_F_ACCESS_PLATFORM too (the device translates through the IOMMU)
    and no indirect descriptors."""

    def choose_features(self, lo, hi):
        return 0, hi & 3                    # VERSION_1, ACCESS_PLATFORM

    def setup_reads(self):
        descs, ring, at = b'', b'', self.dma_offset
        for i in range(PER_KICK):
            d = 3 * i
            descs += struct.pack('<QIHH', at + REQ + 16 * i, 16, 1, d + 1)
            descs += struct.pack('<QIHH', at + BUF + 4096 * i, 4096, 3, d + 2)
            descs += struct.pack('<QIHH', at + REQ + 0x1000 + i, 1, 2, 0)
            ring += struct.pack('<H', d)
        self.q.mem(qv.DESC, descs)
        self.q.mem(qv.AVAIL + 4, ring * (QSIZE // PER_KICK))
        self.q.mem(REQ, b''.join(struct.pack('<IIQ', 0, 0, 8 * i)
                                 for i in range(PER_KICK)))


def identity_tables(q, devfn, pages, levels=3):
    """Legacy tables: bus 0, @devfn in domain 1, 4 KiB identity pages for
    @pages (page-aligned addresses), @levels levels (3 for aw-bits 39, 4
    and 5 above: entry 0 of each upper table leads down)."""
    l2, l1 = PT + 0x1000, PT + 0x2000           # one L2, L1s for 0..8 MiB
    top = PT
    for i in range(levels - 3):
        upper = UPPER + 0x1000 * i
        q.mem(upper, struct.pack('<Q', top | 3))
        top = upper
    q.mem(ROOT, struct.pack('<QQ', CTX | 1, 0))
    q.mem(CTX + 16 * devfn, struct.pack('<QQ', top | 1,
                                        1 << 8 | (levels - 2)))    # AW
    q.mem(PT, struct.pack('<Q', l2 | 3))
    q.mem(l2, b''.join(struct.pack('<Q', (l1 + 0x1000 * i) | 3) for i in range(4)))
    for p in pages:
        q.mem(l1 + 8 * (p >> 12), struct.pack('<Q', p | 3))
    vtd_enable(q)


def vtd_enable(q):
    """VT-d: the root table at ROOT latched, caches invalidated, TE on."""
    q.wr('q', BASE + 0x20, ROOT)
    q.wr('l', BASE + 0x18, 1 << 30)             # SRTP
    q.wr('q', BASE + 0x28, 1 << 63 | 1 << 61)   # global context invalidation
    q.wr('q', BASE + 0xf8, 1 << 63 | 1 << 60)   # global IOTLB invalidation
    q.wr('l', BASE + 0x18, 1 << 31)             # TE
    if not q.rd('l', BASE + 0x1c) & 1 << 31:
        raise RuntimeError('translation did not turn on')


def vtd_page_inv(q, iova, domain=1):
    """VT-d: register-based page-selective IOTLB invalidation of one 4 KiB
    page of @domain."""
    iro = BASE + 16 * (q.rd('q', BASE + 0x10) >> 8 & 0x3ff)   # ECAP.IRO
    q.wr('q', iro, iova)                                    # IVA
    q.wr('q', iro + 8, 1 << 63 | 3 << 60 | domain << 32)    # PSI
    if q.rd('q', iro + 8) & 1 << 63:
        raise RuntimeError('the invalidation did not complete')


def vtd_fault_addrs(q):
    """VT-d: the page addresses of the fault records with F set."""
    cap = q.rd('q', BASE + 0x08)
    fro = BASE + 16 * (cap >> 24 & 0x3ff)
    return [q.rd('q', fro + 16 * i) & ~0xfff
            for i in range((cap >> 40 & 0xff) + 1)
            if q.rd('q', fro + 16 * i + 8) & 1 << 63]


AMD_BASE = 0xfed80000
DT, CB, EL, AMD_PT = 0x600000, 0x601000, 0x602000, 0x603000


def amd_tables(q, devfn, pages):
    """AMD-Vi: @devfn in domain 1 with mode-3 tables, 4 KiB identity pages
    for @pages; the device table, command buffer and event log set up,
    the IOMMU on and its caches invalidated."""
    l2, l1 = AMD_PT + 0x1000, AMD_PT + 0x2000   # one L2, L1s for 0..8 MiB
    rw = 3 << 61
    q.mem(AMD_PT, struct.pack('<Q', l2 | 2 << 9 | 1 | rw))
    q.mem(l2, b''.join(struct.pack('<Q', (l1 + 0x1000 * i) | 1 << 9 | 1 | rw)
                       for i in range(4)))
    for p in pages:
        q.mem(l1 + 8 * (p >> 12), struct.pack('<Q', p | 1 | rw))
    q.mem(DT + 32 * devfn, struct.pack('<QQQQ', 3 | 3 << 9 | AMD_PT | rw, 1,
                                       0, 0))
    q.mem(CB, struct.pack('<IIII', 0, 8 << 28, 0, 0))   # INVALIDATE_IOMMU_ALL
    q.wr('q', AMD_BASE + 0x00, DT)
    q.wr('q', AMD_BASE + 0x08, CB | 8 << 56)
    q.wr('q', AMD_BASE + 0x10, EL | 8 << 56)
    q.wr('q', AMD_BASE + 0x18, 1 | 1 << 2 | 1 << 12)   # IOMMU, log, commands
    q.wr('q', AMD_BASE + 0x2008, 16)
    if q.rd('q', AMD_BASE + 0x2000) != 16:
        raise RuntimeError('the command did not run')


def virtio_maps(q, fn, bar_base, pages, rings=(qv.DESC, qv.AVAIL, qv.USED)):
    """virtio-iommu: the blk function attached to domain 1 and each page
    mapped onto itself, one MAP a page; returns the IOMMU's driver. Its
    request queue lives at @rings: by default where the blk queue will (it
    is not used again)."""
    iommu_fn = qv.find(q, 0x1af4, 0x1057)
    bars, _ = qv.map_bars(q, iommu_fn, bar_base)
    v = qv.VirtioIommu(q, iommu_fn, bars, rings)
    v.init()
    reqs = [(20, qv.attach(1, fn))]
    reqs += [(36, qv.map_req(1, p, p | 0xfff, p)) for p in pages]
    for at in range(0, len(reqs), 64):
        batch = reqs[at:at + 64]
        v.setup_slots(batch)
        v.kick(len(batch))
        if any(v.status(i) for i in range(len(batch))):
            raise RuntimeError('ATTACH or MAP failed')
    return v


def run(binary, fw, iommu, kicks, aw=39, miss=False):
    devices = ['-blockdev', 'null-co,node-name=d0,size=1073741824',
               '-device', 'virtio-blk-pci,drive=d0,iommu_platform=on,'
               'disable-legacy=on']
    if iommu:
        devices = ['-device', {'intel': 'intel-iommu,aw-bits=%d' % aw,
                               'amd': 'amd-iommu,pt=off',
                               'virtio': 'virtio-iommu-pci'}[iommu]] + devices
    q = qv.Qtest(binary, fw, [], devices=devices, machine='q35')
    fn = qv.find(q, 0x1af4, 0x1042)
    bars, bar_next = qv.map_bars(q, fn, qv.BAR_BASE)
    if iommu:
        pages = [qv.DESC, qv.DESC + 0x1000, qv.DESC + 0x2000, qv.AVAIL,
                 qv.USED, qv.USED + 0x1000, REQ, REQ + 0x1000]
        pages += [BUF + 0x1000 * i for i in range(PER_KICK)]
        if iommu == 'intel':
            identity_tables(q, fn, pages, LEVELS[aw])
        elif iommu == 'amd':
            amd_tables(q, fn, pages)
        else:
            virtio_maps(q, fn, bar_next, pages)
    blk = VirtioBlk(q, fn, bars)
    blk.init()
    blk.setup_reads()
    # the reads complete asynchronously: one batch in flight at a time
    for _ in range(4):
        blk.kick(PER_KICK)                      # warm up
    t0 = time.perf_counter()
    for _ in range(kicks):
        if miss:
            q.wr('q', BASE + 0xf8, 1 << 63 | 1 << 60)   # global IOTLB inv.
        blk.kick(PER_KICK)
    dt = time.perf_counter() - t0
    status = q.read(REQ + 0x1000, PER_KICK)
    if iommu == 'intel' and (q.rd('l', BASE + 0x34) & 3):
        raise RuntimeError('the IOMMU recorded a fault')
    if iommu == 'amd' and q.rd('q', AMD_BASE + 0x2018):
        raise RuntimeError('the IOMMU logged an event')
    q.close()
    if status != bytes(PER_KICK):
        raise RuntimeError('reads failed: %s' % status.hex())
    return kicks * PER_KICK / dt


def main():
    binary, fw, mode, kicks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    mode = {'none': None, 'iommu': 'intel'}.get(mode, mode)
    aw = int(sys.argv[5]) if len(sys.argv) > 5 else 39
    miss = len(sys.argv) > 6 and sys.argv[6] == 'miss'
    print('%.0f' % run(binary, fw, mode, kicks, aw, miss))


if __name__ == '__main__':
    main()
