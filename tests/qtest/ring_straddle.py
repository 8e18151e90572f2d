#!/usr/bin/env python3
"""virtio ring accesses that cross an IOMMU page, over qtest on q35.

QEMU reaches a virtqueue's rings through a MemoryRegionCache; behind an
IOMMU, an access that crosses from one IOVA page into the next must take
the next page's translation (README.rst, hook 8). With 1024-entry queues
(10.0.13 makes every queue that size) the used ring Linux lays out after a
16 KiB descriptor table has 8-byte elements that straddle pages, and
Linux's DMA allocator backs consecutive IOVA pages with pages that need not
be adjacent: the second half of the element must land where the IOMMU
maps it, never on the guest-physical page that happens to follow.

For each IOMMU (intel-iommu and amd-iommu with their page tables,
virtio-iommu with MAP requests), a virtio-blk request whose
- descriptor 0 straddles two IOVA pages of the descriptor table (a read
  crossing the boundary: its second half comes from where the IOMMU maps
  the second page);
- used element straddles two IOVA pages of the used ring (a write
  crossing: its len lands at the start of the second page's mapping);
while the guest-physical pages right after the first page of each ring
hold a canary, which stays intact; the request completes, no fault.
And used elements that cross a 4 KiB boundary inside a 2 MiB page of
intel-iommu, with EVENT_IDX (the device writes avail_event too), where
the ring's cache may take the direct path of hook 5 (its whole range lies
in one translation): the reads complete and each element is whole.

Usage: ring_straddle.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
import qtest_vtd_blk as blk  # noqa: E402
from checks import check, summary  # noqa: E402

DESC = qv.DESC + 0xff8              # descriptor 0 straddles DESC_PAGE2
DESC_PAGE2 = qv.DESC + 0x1000
USED = qv.USED + 0xff8              # used element 0 straddles USED_PAGE2
USED_PAGE2 = qv.USED + 0x1000
DESC_FAR, USED_FAR = 0x1c0000, 0x1d0000     # where the IOMMU maps them
CANARY = b'\xa5' * 4096


def pages():
    """Identity pages: both rings' first pages, the avail ring, the request
    header and status page and one data buffer."""
    return [qv.DESC, qv.AVAIL, qv.USED, blk.REQ, blk.REQ + 0x1000, blk.BUF]


def remap_tables(q, iommu, iova, phys):
    """intel-iommu or amd-iommu: the 4 KiB leaf for @iova (blk's identity
    tables: level-1 tables for 0..8 MiB back to back) points at @phys."""
    if iommu == 'intel':
        q.mem(blk.PT + 0x2000 + 8 * (iova >> 12), struct.pack('<Q', phys | 3))
    else:
        q.mem(blk.AMD_PT + 0x2000 + 8 * (iova >> 12),
              struct.pack('<Q', phys | 1 | 3 << 61))


def start(binary, fw, iommu, desc, used):
    devices = ['-device', {'intel': 'intel-iommu', 'amd': 'amd-iommu,pt=off',
                           'virtio': 'virtio-iommu-pci'}[iommu],
               '-blockdev', 'null-co,node-name=d0,size=1048576,read-zeroes=on',
               '-device', 'virtio-blk-pci,drive=d0,iommu_platform=on,'
               'disable-legacy=on']
    q = qv.Qtest(binary, fw, [], devices=devices, machine='q35')
    fn = qv.find(q, 0x1af4, 0x1042)
    bars, bar_next = qv.map_bars(q, fn, qv.BAR_BASE)
    if iommu == 'virtio':
        v = blk.virtio_maps(q, fn, bar_next, pages(),
                            rings=(0x600000, 0x610000, 0x620000))
        v.setup_slots([(36, qv.map_req(1, p, p | 0xfff, f)) for p, f in
                       ((DESC_PAGE2, DESC_FAR), (USED_PAGE2, USED_FAR))])
        v.kick(2)
        if v.status(0) or v.status(1):
            raise RuntimeError('MAP failed')
    else:
        (blk.identity_tables if iommu == 'intel' else blk.amd_tables)(
            q, fn, pages())
        remap_tables(q, iommu, DESC_PAGE2, DESC_FAR)
        remap_tables(q, iommu, USED_PAGE2, USED_FAR)
        if iommu == 'intel':    # global IOTLB invalidation
            q.wr('q', blk.BASE + 0xf8, 1 << 63 | 1 << 60)
        else:                   # INVALIDATE_IOMMU_ALL
            q.mem(blk.CB + 16, struct.pack('<IIII', 0, 8 << 28, 0, 0))
            q.wr('q', blk.AMD_BASE + 0x2008, 32)
    dev = blk.VirtioBlk(q, fn, bars, rings=(desc, qv.AVAIL, used))
    dev.init()
    return q, dev


def faults(q, iommu):
    """The fault records (intel) or the event log tail (amd)."""
    if iommu == 'intel':
        return blk.vtd_fault_addrs(q)
    return q.rd('q', blk.AMD_BASE + 0x2018)


def no_fault(q, iommu):
    """No fault recorded (virtio-iommu reports faults on its event queue,
    which this test does not drive: not checked there)."""
    if iommu != 'virtio':
        check('%s: no fault' % iommu, not faults(q, iommu),
              'faults %s' % faults(q, iommu))


def read_request(q, desc):
    """One read at descriptor 0 of the table at @desc (header, 4 KiB
    buffer, status), written where the IOMMU maps each of its bytes."""
    chain = (struct.pack('<QIHH', blk.REQ, 16, 1, 1) +
             struct.pack('<QIHH', blk.BUF, 4096, 3, 2) +
             struct.pack('<QIHH', blk.REQ + 0x1000, 1, 2, 0))
    if desc == DESC:            # descriptor 0 in two halves
        q.mem(DESC, chain[:8])
        q.mem(DESC_FAR, chain[8:])
        q.mem(DESC_PAGE2, CANARY)   # what the page after the first holds
    else:
        q.mem(desc, chain)
    q.mem(blk.REQ, struct.pack('<IIQ', 0, 0, 0))
    q.mem(blk.REQ + 0x1000, b'\xff')
    q.mem(qv.AVAIL + 4, struct.pack('<H', 0))


def complete(q, dev):
    """Makes the request available; whether the device completed it."""
    try:
        dev.kick(1)
        return q.rd('b', blk.REQ + 0x1000) == 0
    except Exception:       # the device never completes, or QEMU is gone
        return False


def run_desc(binary, fw, iommu):
    """Descriptor 0 crosses from the table's first IOVA page into the
    second; the page after the first in guest-physical memory holds 0xa5
    bytes, a descriptor with neither the length nor the flags."""
    q, dev = start(binary, fw, iommu, DESC, qv.USED)
    read_request(q, DESC)
    check('%s: a descriptor read across IOVA pages takes each page\'s '
          'translation: the request completes' % iommu, complete(q, dev),
          'status 0x%x' % q.rd('b', blk.REQ + 0x1000))
    no_fault(q, iommu)
    q.close()


def run_used(binary, fw, iommu):
    """Used element 0 crosses from the used ring's first IOVA page into the
    second: its len goes where the IOMMU maps the second, and the page after
    the first in guest-physical memory stays as it was."""
    q, dev = start(binary, fw, iommu, qv.DESC, USED)
    read_request(q, qv.DESC)
    q.mem(USED_FAR, b'\xee' * 8)
    q.mem(USED_PAGE2, CANARY)
    done = complete(q, dev)
    used_id = q.rd('l', USED + 4)
    used_len = struct.unpack('<I', q.read(USED_FAR, 4))[0]
    check('%s: the request completes, used id 0' % iommu,
          done and used_id == 0, 'used id %d' % used_id)
    check('%s: a used element written across IOVA pages: len 4097 lands in '
          'the second page\'s mapping' % iommu, used_len == 4097,
          'len there 0x%x' % used_len)
    check('%s: the guest-physical page after the used ring\'s first page '
          'is untouched' % iommu, q.read(USED_PAGE2, 4096) == CANARY,
          'its first bytes %s' % q.read(USED_PAGE2, 8).hex())
    no_fault(q, iommu)
    q.close()


class EventIdxBlk(blk.VirtioBlk):
    """VirtioBlk with VIRTIO_RING_F_EVENT_IDX: the device writes avail_event
    into the used ring at each pop, as for Linux's drivers."""

    def choose_features(self, lo, hi):
        return lo & 1 << qv.F_EVENT_IDX, hi & 3


def run_direct_midway(binary, fw, k):
    """Used element @k crosses the 4 KiB boundary at 0x121000 inside a
    2 MiB identity superpage; @k + 1 reads, one a kick."""
    used = 0x121000 - 4 - 8 * k
    q = qv.Qtest(binary, fw, [], devices=[
        '-device', 'intel-iommu',
        '-blockdev', 'null-co,node-name=d0,size=1048576,read-zeroes=on',
        '-device', 'virtio-blk-pci,drive=d0,iommu_platform=on,'
        'disable-legacy=on'], machine='q35')
    fn = qv.find(q, 0x1af4, 0x1042)
    bars, _ = qv.map_bars(q, fn, qv.BAR_BASE)
    blk.identity_tables(q, fn, pages())
    # the level-2 entry of 0..2 MiB: a 2 MiB page (PS), read and write
    q.mem(blk.PT + 0x1000, struct.pack('<Q', 1 << 7 | 3))
    q.wr('q', blk.BASE + 0xf8, 1 << 63 | 1 << 60)   # global IOTLB inv.
    dev = EventIdxBlk(q, fn, bars, rings=(qv.DESC, qv.AVAIL, used))
    dev.init()
    read_request(q, qv.DESC)
    q.mem(qv.AVAIL + 4, struct.pack('<H', 0) * qv.QSIZE)
    done = all(complete(q, dev) for _ in range(k + 1))
    elem = struct.unpack('<II', q.read(used + 4 + 8 * k, 8)) if done else None
    check('used element %d across a page of a direct-capable cache: the '
          'reads complete, the element is whole' % k,
          done and elem == (0, 4097), 'element %s' % (elem,))
    if done:
        no_fault(q, 'intel')
        q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    for iommu in ('intel', 'amd', 'virtio'):
        run_desc(binary, fw, iommu)
        run_used(binary, fw, iommu)
    for k in range(3):
        run_direct_midway(binary, fw, k)
    return summary('ring_straddle')


if __name__ == '__main__':
    sys.exit(main())
