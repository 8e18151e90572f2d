#!/usr/bin/env python3
"""Translations that are kept (the translate fast path, and hook 5's direct
ring pointers) die with the mapping: for each of our IOMMUs, over qtest on
q35.

A virtio-blk device (null-co, reads) sits behind intel-iommu, amd-iommu or
virtio-iommu, its rings and buffers mapped page by page as Linux's DMA API
would. After enough requests that its ring caches are direct and its
buffers' translations cached, a page is taken away, and the very next
access must not reach it:

- the used ring's page unmapped (and invalidated): the next completion's
  used index and element do not land in that page (the IOMMU records the
  fault, for VT-d and AMD-Vi, at that address);
- a data buffer's page unmapped: the next read does not write it, and the
  IOMMU records the fault; also with the device on an IOThread (VT-d,
  AMD-Vi), where the fault is found without the BQL and recorded from the
  main loop;
- the used ring's page remapped onto another page (VT-d and AMD-Vi: the
  page table entry changed, then invalidated; virtio-iommu: UNMAP, MAP):
  the next completions land in the new page only;
- translation turned off and on again with the used ring's page gone
  (VT-d, AMD-Vi): nothing kept from before survives;
- a machine reset in the middle of it all, then the same set-up without
  the used ring's page: nothing kept from before the reset reaches it;
- and a run that does none of this, for scale: every completion lands.

Usage: direct_ring.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
import qtest_vtd_blk as blk  # noqa: E402
from checks import check, summary  # noqa: E402

USED, USED2 = qv.USED, 0x130000             # the used ring, and elsewhere
BUF0 = blk.BUF                              # request 0's data buffer
IOMMU_RINGS = (0x700000, 0x710000, 0x720000)   # virtio-iommu's own queue


class Rig:
    """virtio-blk behind one IOMMU, warmed up: direct rings, cached
    translations."""

    def __init__(self, binary, fw, kind, iothread=False):
        self.kind = kind
        devices = ['-device', {'intel': 'intel-iommu,aw-bits=39',
                               'amd': 'amd-iommu',
                               'virtio': 'virtio-iommu-pci'}[kind],
                   '-blockdev', 'null-co,node-name=d0,size=1073741824,'
                   'read-zeroes=on',
                   '-device', 'virtio-blk-pci,drive=d0,iommu_platform=on,'
                   'disable-legacy=on' + (',iothread=io0' if iothread else '')]
        if iothread:
            devices = ['-object', 'iothread,id=io0'] + devices
        self.q = qv.Qtest(binary, fw, [], devices=devices, machine='q35')
        self.setup()

    def setup(self, unmapped=()):
        """The IOMMU set up, the ring and buffers mapped (but @unmapped),
        virtio-blk started and warmed up."""
        q = self.q
        self.fn = fn = qv.find(q, 0x1af4, 0x1042)
        bars, bar_next = qv.map_bars(q, fn, qv.BAR_BASE)
        pages = [qv.DESC, qv.AVAIL, USED, USED2, blk.REQ, blk.REQ + 0x1000]
        pages += [BUF0 + 0x1000 * i for i in range(blk.PER_KICK)]
        pages = [p for p in pages if p not in unmapped]
        for p in unmapped:                      # tables from before: gone
            if self.kind == 'intel':
                q.mem(blk.PT + 0x2000 + 8 * (p >> 12), bytes(8))
            elif self.kind == 'amd':
                q.mem(blk.AMD_PT + 0x2000 + 8 * (p >> 12), bytes(8))
        self.cmd_tail = 16
        if self.kind == 'intel':
            blk.identity_tables(q, fn, pages)
        elif self.kind == 'amd':
            blk.amd_tables(q, fn, pages)
        else:
            self.viommu = blk.virtio_maps(q, fn, bar_next, pages, IOMMU_RINGS)
        self.dev = blk.VirtioBlk(q, fn, bars)
        self.dev.init()
        self.dev.setup_reads()
        for _ in range(8 if not unmapped else 0):
            self.dev.kick(blk.PER_KICK)

    # ---- the IOMMU's side ----

    def unmap(self, page):
        self.remap(page, None)

    def remap(self, page, out):
        """Page @page of IOVA now maps onto @out (None: nothing), and the
        IOMMU is told as Linux tells it."""
        q = self.q
        if self.kind == 'intel':
            q.mem(blk.PT + 0x2000 + 8 * (page >> 12),
                  struct.pack('<Q', 0 if out is None else out | 3))
            blk.vtd_page_inv(q, page)
        elif self.kind == 'amd':
            rw = 3 << 61
            q.mem(blk.AMD_PT + 0x2000 + 8 * (page >> 12),
                  struct.pack('<Q', 0 if out is None else out | 1 | rw))
            q.mem(blk.CB + self.cmd_tail,
                  struct.pack('<IIII', 0, 1 | 3 << 28, page, 0))
            self.cmd_tail += 16
            q.wr('q', blk.AMD_BASE + 0x2008, self.cmd_tail)
            if q.rd('q', blk.AMD_BASE + 0x2000) != self.cmd_tail:
                raise RuntimeError('INVALIDATE_IOMMU_PAGES did not run')
        else:
            v = self.viommu
            reqs = [(28, qv.unmap_req(1, page, page | 0xfff))]
            if out is not None:
                reqs.append((36, qv.map_req(1, page, page | 0xfff, out)))
            for req in reqs:            # one a kick: in this order
                v.setup_slots([req])
                v.kick(1)
                if v.status(0):
                    raise RuntimeError('UNMAP or MAP failed')

    def faults(self):
        """The addresses of the DMA faults the IOMMU recorded (virtio-iommu:
        not read here, its event queue is not set up)."""
        q = self.q
        found = []
        if self.kind == 'intel':
            found = blk.vtd_fault_addrs(q)
        elif self.kind == 'amd':
            tail = q.rd('q', blk.AMD_BASE + 0x2018)
            for off in range(0, tail, 16):
                ev = struct.unpack('<IIII', q.read(blk.EL + off, 16))
                if ev[1] >> 28 == 2:                  # IO_PAGE_FAULT
                    found.append((ev[3] << 32 | ev[2]) & ~0xfff)
        return found

    # ---- the device's side ----

    def make_available(self, n):
        """Makes @n more requests available and notifies; does not wait
        (what completes is read from memory)."""
        d = self.dev
        d.avail_idx = (d.avail_idx + n) & 0xffff
        self.q.cmds(['writew 0x%x 0x%x' % (qv.AVAIL + 2, d.avail_idx),
                     'writew 0x%x 0x0' % d.notify])
        self.q.cmd('clock_step 1000000')

    def used_idx(self, ring=USED):
        return self.q.rd('w', ring + 2)

    def close(self):
        self.q.close()


def check_fault(r, what, page):
    """VT-d and AMD-Vi recorded a fault at @page; closes @r."""
    faults = r.faults()
    if r.kind != 'virtio':
        check('%s: %s: the fault names its page' % (r.kind, what),
              page in faults, str(sorted(set(hex(f) for f in faults))))
    r.close()


def test_control(binary, fw, kind):
    r = Rig(binary, fw, kind)
    before = r.used_idx()
    r.make_available(blk.PER_KICK)
    check('%s: control: every completion lands' % kind,
          r.used_idx() == (before + blk.PER_KICK) & 0xffff and
          not r.faults(), 'used idx %d -> %d, faults %s' %
          (before, r.used_idx(), r.faults()))
    r.close()


def test_used_unmapped(binary, fw, kind):
    r = Rig(binary, fw, kind)
    before = r.used_idx()
    image = r.q.read(USED, 4 + 8 * qv.QSIZE)
    r.unmap(USED)
    r.make_available(1)
    after = r.q.read(USED, 4 + 8 * qv.QSIZE)
    check('%s: used ring unmapped: the next completion does not land' % kind,
          after == image and r.used_idx() == before,
          'used idx %d -> %d' % (before, r.used_idx()))
    check_fault(r, 'used ring unmapped', USED)


def test_buffer_unmapped(binary, fw, kind):
    r = Rig(binary, fw, kind)
    r.unmap(BUF0)
    r.q.mem(BUF0, b'\xff' * 4096)
    r.make_available(blk.PER_KICK)
    check('%s: buffer unmapped: the next read does not write it' % kind,
          r.q.read(BUF0, 4096) == b'\xff' * 4096)
    check_fault(r, 'buffer unmapped', BUF0)


def test_buffer_unmapped_iothread(binary, fw, kind):
    """The device on an IOThread: the IOMMU translates without the BQL,
    and a fault it finds is recorded later, from the main loop."""
    r = Rig(binary, fw, kind, iothread=True)
    r.unmap(BUF0)
    r.q.mem(BUF0, b'\xff' * 4096)
    r.make_available(blk.PER_KICK)
    # the IOThread serves the request on its own time: wait for its fault
    # (10 s at most, whatever the load of the machine)
    deadline = time.time() + 10
    while BUF0 not in r.faults() and time.time() < deadline:
        r.q.cmd('clock_step 1000000')
        time.sleep(0.01)
    check('%s, IOThread: buffer unmapped: the next read does not write it'
          % kind, r.q.read(BUF0, 4096) == b'\xff' * 4096)
    check_fault(r, 'IOThread: buffer unmapped', BUF0)


def test_used_remapped(binary, fw, kind):
    r = Rig(binary, fw, kind)
    before = r.used_idx()
    r.q.mem(USED2, r.q.read(USED, 4 + 8 * qv.QSIZE))
    r.remap(USED, USED2)
    r.make_available(blk.PER_KICK)
    r.make_available(blk.PER_KICK)
    want = (before + 2 * blk.PER_KICK) & 0xffff
    check('%s: used ring remapped: completions land in the new page only'
          % kind, r.used_idx() == before and r.used_idx(USED2) == want and
          not r.faults(), 'old %d, new %d, want %d, faults %s' %
          (r.used_idx(), r.used_idx(USED2), want, r.faults()))
    r.close()


def test_translation_restarted(binary, fw, kind):
    """Translation turned off and on again (as a rebooting or kexec'd
    guest's driver does), with the used ring's page no longer mapped: what
    was kept from before must not outlive the restart."""
    r = Rig(binary, fw, kind)
    before = r.used_idx()
    q = r.q
    if kind == 'intel':
        q.wr('l', blk.BASE + 0x18, 0)                     # TE off
        q.mem(blk.PT + 0x2000 + 8 * (USED >> 12), bytes(8))
        q.wr('l', blk.BASE + 0x18, 1 << 31)               # TE on
    else:
        ctl = q.rd('q', blk.AMD_BASE + 0x18)
        q.wr('q', blk.AMD_BASE + 0x18, ctl & ~1)          # IOMMU off
        q.mem(blk.AMD_PT + 0x2000 + 8 * (USED >> 12), bytes(8))
        q.wr('q', blk.AMD_BASE + 0x18, ctl)               # on
    r.make_available(1)
    check('%s: translation restarted: the unmapped used ring is not written'
          % kind, r.used_idx() == before and USED in r.faults(),
          'used idx %d -> %d, faults %s' %
          (before, r.used_idx(), sorted(set(hex(f) for f in r.faults()))))
    r.close()


def test_system_reset(binary, fw, kind):
    """A machine reset (the reset control register, as a rebooting guest
    writes it) in the middle of cached translations and direct rings; the
    guest sets everything up again, but the used ring's page is no longer
    mapped: nothing from before the reset may reach it."""
    r = Rig(binary, fw, kind)
    q = r.q
    q.mem(USED, bytes(4 + 8 * qv.QSIZE))
    q.out('b', 0xcf9, 0x06)                             # hard reset
    q.cmd('clock_step 1000000')
    if qv.cfg_read(q, r.fn, 0x04, 2) != 0:             # PCI command
        raise RuntimeError('the machine did not reset')
    r.setup(unmapped=(USED,))
    q.mem(USED, b'\xee' * (4 + 8 * qv.QSIZE))
    r.make_available(1)
    faults = r.faults()
    check('%s: after a system reset: the unmapped used ring is not written'
          % kind, q.read(USED, 4 + 8 * qv.QSIZE) == b'\xee' * (4 + 8 * qv.QSIZE)
          and (kind == 'virtio' or USED in faults),
          'used idx 0x%x, faults %s' % (r.used_idx(),
                                        sorted(set(hex(f) for f in faults))))
    r.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    for kind in ('intel', 'amd', 'virtio'):
        test_control(binary, fw, kind)
        test_used_unmapped(binary, fw, kind)
        test_buffer_unmapped(binary, fw, kind)
        test_used_remapped(binary, fw, kind)
        if kind != 'virtio':
            test_translation_restarted(binary, fw, kind)
            test_buffer_unmapped_iothread(binary, fw, kind)
        test_system_reset(binary, fw, kind)
    return summary('direct_ring')


if __name__ == '__main__':
    sys.exit(main())
