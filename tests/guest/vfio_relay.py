#!/usr/bin/env python3
"""VFIO relay test driver (issue: a device passed through twice).

Speaks qtest to L2, our QEMU running in L1 with L1's edu device assigned
through vfio-pci behind L2's virtio-iommu. L2's qtest chardev is L1's second
serial port, which L0 exposes at SOCKET. Every MAP/UNMAP sent to L2's
virtio-iommu must reach L1's VFIO container and, through L1's virtio-iommu
driver, L0's virtio-iommu, which translates edu's DMA.

Usage: vfio_relay.py SOCKET
Prints "STEP name ok|FAIL detail" lines and exits non-zero on a failure.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402

PATTERN_A = bytes((i * 7 + 1) & 0xff for i in range(4096))
PATTERN_B = bytes((i * 13 + 5) & 0xff for i in range(4096))
RAM_SRC = 0x800000          # L2 guest-physical source of DMA reads
RAM_DST = 0x900000          # L2 guest-physical target of DMA writes
EDU_BUF = 0x40000           # edu's internal buffer, in its DMA space

failures = 0


def step(name, ok, detail=''):
    global failures
    print('STEP %s %s%s' % (name, 'ok' if ok else 'FAIL',
                            (' ' + detail) if detail else ''), flush=True)
    failures += not ok


# Bytes sent before L2 opens L1's serial port are lost, or cut at the
# front. Trailing spaces keep a cut line from ever being empty (qtest
# asserts on an empty command) and are ignored in a whole one; a cut
# command gets FAIL, and we ask again.
HELLO = b'endianness' + b' ' * 32 + b'\n'


def wait_ready(path):
    """Waits until L2 answers qtest, then drops the answers to earlier tries."""
    deadline = time.time() + 900
    while not os.path.exists(path):
        if time.time() > deadline:
            raise RuntimeError('no L2 qtest socket')
        time.sleep(2)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.settimeout(2)
    heard = b''
    while b'OK little' not in heard:
        if time.time() > deadline:
            raise RuntimeError('L2 never answered qtest')
        sock.sendall(HELLO)
        try:
            heard += sock.recv(4096)
        except socket.timeout:
            continue
        time.sleep(2)
    time.sleep(3)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        pass
    return qv.Qtest.over_socket(sock, timeout=120)


class Edu:
    def __init__(self, q, bar):
        self.q, self.bar = q, bar

    def dma(self, src, dst, to_ram):
        q, b = self.q, self.bar
        q.wr('q', b + 0x80, src)
        q.wr('q', b + 0x88, dst)
        q.wr('q', b + 0x90, 4096)
        q.wr('q', b + 0x98, 1 | (2 if to_ram else 0))
        for _ in range(200):
            if not q.rd('q', b + 0x98) & 1:
                return
            time.sleep(0.05)
        raise RuntimeError('edu DMA did not finish')

    def liveness(self):
        # edu register 0x4: reads back the inverse of what was written
        self.q.wr('l', self.bar + 4, 0x12345678)
        return self.q.rd('l', self.bar + 4) == 0xedcba987


def read_ram(q, addr):
    return q.read(addr, 0x1000)


def request(v, payload, out_len):
    v.setup_slots([(out_len, payload)])
    v.kick(1)
    return v.status(0)


def main():
    q = wait_ready(sys.argv[1])
    viommu_fn = qv.find(q, 0x1af4, 0x1057)
    edu_fn = qv.find(q, 0x1234, 0x11e8)
    bars, nxt = qv.map_bars(q, viommu_fn, qv.BAR_BASE)
    edu_bars, _ = qv.map_bars(q, edu_fn, nxt)
    edu = Edu(q, edu_bars[0])
    step('l2.edu-reachable-through-vfio', edu.liveness())

    # 0. boot-bypass: before any ATTACH, VFIO maps L2's RAM 1:1
    q.mem(RAM_SRC, PATTERN_A)
    q.mem(RAM_DST, bytes(4096))
    edu.dma(RAM_SRC, EDU_BUF, False)
    edu.dma(EDU_BUF, RAM_DST, True)
    step('dma-in-bypass', read_ram(q, RAM_DST) == PATTERN_A)

    v = qv.VirtioIommu(q, viommu_fn, bars)
    v.init()
    mapr, unmapr = qv.map_req, qv.unmap_req

    # The host IOMMU's constraints (HostIOMMUDevice): the granule is at
    # least its page, what it cannot map is reserved in PROBE
    psm, _, probe_size = v.config()
    granule = psm & -psm
    step('granule', granule == 4096, '%d bytes (page_size_mask 0x%x)' %
         (granule, psm))
    st, regions = v.probe(edu_fn, probe_size)
    shown = ' '.join('%s[0x%x-0x%x]' % ('msi' if t == 1 else 'reserved', a, b)
                     for t, a, b in regions)
    above = [a for t, a, b in regions if t == 0 and b == (1 << 64) - 1]
    step('probe-host-regions', st == 0 and (1, 0xfee00000, 0xfeefffff) in
         regions and len(above) == 1, 'status %d: %s' % (st, shown))
    host_top = above[0] if above else 1 << 63

    # 1. attach, map, DMA from IOVA: the pattern must arrive
    st = request(v, qv.attach(1, edu_fn), 20)
    step('attach', st == 0, 'status %d' % st)
    q.mem(RAM_SRC, PATTERN_A)
    q.mem(RAM_DST, bytes(4096))
    st = request(v, mapr(1, 0x100000, 0x1fffff, RAM_SRC), 36)
    step('map-1MiB', st == 0, 'status %d' % st)
    st = request(v, mapr(1, 0x200000, 0x200fff, RAM_DST), 36)
    step('map-dst', st == 0, 'status %d' % st)
    edu.dma(0x100000, EDU_BUF, False)
    edu.dma(EDU_BUF, 0x200000, True)
    step('dma-through-iova', read_ram(q, RAM_DST) == PATTERN_A)
    st = request(v, mapr(1, host_top, host_top + 0xfff, RAM_SRC), 36)
    step('map-beyond-host-refused', st == 4, 'status %d at 0x%x' %
         (st, host_top))

    # 2. unmap: the next DMA is refused, nothing is copied
    st = request(v, unmapr(1, 0x100000, 0x1fffff), 28)
    step('unmap', st == 0, 'status %d' % st)
    q.mem(RAM_SRC, PATTERN_B)
    edu.dma(0x100000, EDU_BUF, False)   # must fault in L0
    q.mem(RAM_DST, bytes(4096))
    edu.dma(EDU_BUF, 0x200000, True)
    got = read_ram(q, RAM_DST)
    # The refused read leaves edu with whatever a failed bus read returns
    # (QEMU: zeroes), never the new data behind the unmapped IOVA.
    step('dma-after-unmap-refused', got != PATTERN_B,
         'edu got %s' % ('zeroes' if got == bytes(4096) else
                         'the old pattern' if got == PATTERN_A else
                         'other bytes' if got != PATTERN_B else
                         'the unmapped data'))

    # 3. a mapping made before the endpoint attaches is replayed
    st = request(v, qv.attach(2, 0), 20)        # host bridge creates domain 2
    step('attach-other-endpoint', st == 0, 'status %d' % st)
    st = request(v, mapr(2, 0x300000, 0x300fff, RAM_SRC), 36)
    st |= request(v, mapr(2, 0x301000, 0x301fff, RAM_DST), 36)
    step('map-before-attach', st == 0, 'status %d' % st)
    st = request(v, qv.attach(2, edu_fn), 20)   # re-attach: replay
    step('reattach-replay', st == 0, 'status %d' % st)
    q.mem(RAM_DST, bytes(4096))
    edu.dma(0x300000, EDU_BUF, False)
    edu.dma(EDU_BUF, 0x301000, True)
    step('dma-after-replay', read_ram(q, RAM_DST) == PATTERN_B)
    # the old domain's mapping went with the move
    q.mem(RAM_DST, bytes(4096))
    edu.dma(EDU_BUF, 0x200000, True)
    step('old-domain-unreachable', read_ram(q, RAM_DST) == bytes(4096))

    # 4. a range that is not a power of two (3 pages)
    st = request(v, mapr(2, 0x400000, 0x402fff, RAM_SRC - 0x2000), 36)
    step('map-3-pages', st == 0, 'status %d' % st)
    q.mem(RAM_DST, bytes(4096))
    edu.dma(0x402000, EDU_BUF, False)           # last page of the three
    edu.dma(EDU_BUF, 0x301000, True)
    step('dma-last-page-of-3', read_ram(q, RAM_DST) == PATTERN_B)
    st = request(v, unmapr(2, 0x400000, 0x402fff), 28)
    step('unmap-3-pages', st == 0, 'status %d' % st)
    q.mem(RAM_DST, bytes(4096))
    edu.dma(0x402000, EDU_BUF, False)           # must fault in L0 now
    edu.dma(EDU_BUF, 0x301000, True)
    step('dma-after-unmap-3-pages-refused', read_ram(q, RAM_DST) != PATTERN_B)

    # 5. device reset: edu is detached (VFIO gets the UNMAPs of what its
    # domain still maps) and, config.bypass being 1, bypasses again
    q.wr('b', v.common + 0x14, 0)
    q.mem(RAM_SRC, PATTERN_A)
    q.mem(RAM_DST, bytes(4096))
    edu.dma(RAM_SRC, EDU_BUF, False)
    edu.dma(EDU_BUF, RAM_DST, True)
    step('reset-back-to-bypass', read_ram(q, RAM_DST) == PATTERN_A)

    step('done', not failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
