#!/usr/bin/env python3
"""virtio-iommu's fault reports on its event queue (virtio 1.3, 5.13.6.9).

A device's DMA that the IOMMU refuses is reported to the driver as a fault
record in a buffer of the event queue. An edu device stands for the device;
the driver is this script. Checked:
  - a read from an IOVA its domain does not map: records of reason
    MAPPING, flags READ and ADDRESS, the endpoint's ID, the IOVA first,
    each used element 24 bytes long (the record's). QEMU's memory core
    retries a refused transfer access by access, each one a fault: more
    faults than buffers, so each buffer gets one record and the rest are
    dropped ("If no buffer is available, the device drops the event");
  - with no buffer left nothing is reported; once the driver adds buffers,
    the next fault is (a write: flags WRITE and ADDRESS);
  - an endpoint in no domain, with bypass off: reason DOMAIN;
  - a transfer through a mapping afterwards: data intact, no record;
  - the trace events: the faults that found the device's queue full
    (viommu_fault_queue_full), and a refused MAP with its reason
    (virtio_iommu_request_refused ... reason overlap).

Usage: virtio_faults.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

EQ_SIZE = 8
EDESC, EAVAIL, EUSED = 0x300000, 0x308000, 0x310000
EBUF = 0x320000                 # event buffers, 32 bytes apart
FAULT_SIZE = 24
R_DOMAIN, R_MAPPING = 1, 2
F_READ, F_WRITE, F_ADDRESS = 1, 2, 0x100
IOVA = 0x100000


class EventQueue:
    """The event queue (queue 1) set up as a driver does, with buffers of
    FAULT_SIZE bytes; the driver adds them in avail order."""

    def __init__(self, v):
        q, c = v.q, v.common
        self.q = q
        q.wr('w', c + 0x16, 1)
        q.wr('w', c + 0x18, EQ_SIZE)
        q.wr('q', c + 0x20, EDESC)
        q.wr('q', c + 0x28, EAVAIL)
        q.wr('q', c + 0x30, EUSED)
        q.mem(EAVAIL, bytes(4 + 2 * EQ_SIZE + 2))
        q.mem(EUSED, bytes(4 + 8 * EQ_SIZE + 2))
        descs = b''.join(struct.pack('<QIHH', EBUF + 32 * i, FAULT_SIZE, 2, 0)
                         for i in range(EQ_SIZE))
        q.mem(EDESC, descs)
        q.wr('w', c + 0x1c, 1)
        self.added = 0
        self.seen = 0

    def add(self, n):
        """Makes @n more buffers available (slots reused in turn)."""
        for _ in range(n):
            slot = self.added % EQ_SIZE
            self.q.mem(EBUF + 32 * slot, b'\xee' * 32)
            self.q.wr('w', EAVAIL + 4 + 2 * (self.added % EQ_SIZE), slot)
            self.added += 1
        self.q.wr('w', EAVAIL + 2, self.added & 0xffff)

    def take(self):
        """The records the device put in buffers since the last call, as
        (length, reason, flags, endpoint, address)."""
        for _ in range(3):
            self.q.cmd('clock_step 1000000')    # the bottom half runs
        used = self.q.rd('w', EUSED + 2)
        out = []
        while self.seen != used:
            i = self.seen % EQ_SIZE
            ident, length = struct.unpack(
                '<II', self.q.read(EUSED + 4 + 8 * i, 8))
            rec = self.q.read(EBUF + 32 * ident, FAULT_SIZE)
            reason, flags, ep, addr = struct.unpack('<B3xII4xQ', rec)
            out.append((length, reason, flags, ep, addr))
            self.seen = (self.seen + 1) & 0xffff
        return out


def edu_dma(q, edu, iova, to_ram):
    """One 4 KiB edu transfer between its buffer and @iova."""
    if to_ram:
        q.wr('q', edu + 0x80, 0x40000)
        q.wr('q', edu + 0x88, iova)
    else:
        q.wr('q', edu + 0x80, iova)
        q.wr('q', edu + 0x88, 0x40000)
    q.wr('q', edu + 0x90, 4096)
    q.wr('q', edu + 0x98, 1 | (2 if to_ram else 0))
    q.cmd('clock_step 100000000')


def request(v, payload, out_len):
    v.setup_slots([(out_len, payload)])
    v.kick(1)
    return v.status(0)


def start(binary, fw, bypass, log=None):
    extra = []
    if log:
        extra = ['-D', log, '-trace', 'virtio_iommu_request_refused',
                 '-trace', 'viommu_fault_queue_full']
    q = qv.Qtest(binary, fw, extra,
                 ['-device', 'virtio-iommu-pci,boot-bypass=%s'
                  % ('on' if bypass else 'off'), '-device', 'edu'])
    fn = qv.find(q, 0x1af4, 0x1057)
    edu_fn = qv.find(q, 0x1234, 0x11e8)
    bars, nxt = qv.map_bars(q, fn, qv.BAR_BASE)
    edu_bars, _ = qv.map_bars(q, edu_fn, nxt)
    v = qv.VirtioIommu(q, fn, bars)
    v.init()
    return q, v, edu_fn, edu_bars[0]


def check_records(what, recs, n, reason, flags, ep, addr):
    """@n records (one for each buffer the driver gave), the first
    (length, reason, flags, endpoint, address) as given, the others of the
    same access at later addresses of the same 4 KiB transfer."""
    check('%s: %d records' % (what, n), len(recs) == n, '%d' % len(recs))
    if not recs:
        return
    check('%s: length, reason, flags, endpoint, address' % what,
          recs[0] == (FAULT_SIZE, reason, flags, ep, addr),
          'got (%d, %d, 0x%x, 0x%x, 0x%x)' % recs[0])
    addrs = [r[4] for r in recs]
    check('%s: the rest of the transfer, in order' % what,
          all(r[:4] == recs[0][:4] for r in recs) and
          addrs == sorted(set(addrs)) and addrs[-1] < addr + 4096,
          ' '.join(hex(a) for a in addrs))


def mapping_faults(binary, fw):
    log = os.path.join(tempfile.mkdtemp(), 'trace.log')
    q, v, edu_fn, edu = start(binary, fw, True, log)
    ev = EventQueue(v)
    check('attach', request(v, qv.attach(1, edu_fn), 20) == 0)
    # a refused 4 KiB transfer faults at each access QEMU makes of it:
    # more records than buffers, the rest dropped
    ev.add(EQ_SIZE)
    edu_dma(q, edu, IOVA, False)
    check_records('read, unmapped', ev.take(), EQ_SIZE, R_MAPPING,
                  F_READ | F_ADDRESS, edu_fn, IOVA)
    edu_dma(q, edu, IOVA + 0x3000, True)
    check('no buffer: nothing reported', not ev.take())
    ev.add(2)
    edu_dma(q, edu, IOVA + 0x5000, True)
    check_records('write, unmapped, 2 buffers added', ev.take(), 2, R_MAPPING,
                  F_WRITE | F_ADDRESS, edu_fn, IOVA + 0x5000)
    # DMA through a mapping: the data arrives, no record
    pattern = bytes(range(256)) * 16
    q.mem(qv.EDU_BUF, pattern)
    check('map', request(v, qv.map_req(1, IOVA, IOVA + 0xfff, qv.EDU_BUF),
                         36) == 0)
    ev.add(EQ_SIZE)
    edu_dma(q, edu, IOVA, False)
    q.mem(qv.EDU_BUF, bytes(4096))
    edu_dma(q, edu, IOVA, True)
    check('mapped: data intact, no record',
          q.read(qv.EDU_BUF, 4096) == pattern and not ev.take())
    check('a MAP over it refused (INVAL)',
          request(v, qv.map_req(1, IOVA, IOVA + 0xfff, qv.EDU_BUF),
                  36) == 4)
    q.close()
    with open(log, errors='replace') as f:
        text = f.read()
    check('trace: faults that found the queue full',
          re.search(r'^viommu_fault_queue_full \S+: \d+ faults dropped', text,
                    re.M) is not None)
    check('trace: the refused MAP and its reason',
          re.search(r'^virtio_iommu_request_refused type 3 status 4 reason '
                    r'overlap$', text, re.M) is not None)


def domain_fault(binary, fw):
    q, v, edu_fn, edu = start(binary, fw, False)
    ev = EventQueue(v)
    ev.add(EQ_SIZE)
    edu_dma(q, edu, IOVA, False)
    check_records('no domain, bypass off', ev.take(), EQ_SIZE, R_DOMAIN,
                  F_READ | F_ADDRESS, edu_fn, IOVA)
    q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    mapping_faults(binary, fw)
    domain_fault(binary, fw)
    return summary('virtio_faults')


if __name__ == '__main__':
    sys.exit(main())
