#!/usr/bin/env python3
#
# qemu-viommu: a device passed through twice (seeds/001, scenario 1), under TCG:
#   L0  our qemu-system-x86_64, q35, an edu device behind our virtio-iommu
#       (or our intel-iommu with caching-mode=on and interrupt remapping,
#       or our amd-iommu, each with a pci-testdev whose group L1 switches
#       between identity and DMA all along: invalidations of another
#       device and domain)
#   L1  Debian 6.12 from the guest kit (and, in ...Newest, the newest
#       kernel Debian ships): edu bound to vfio-pci, and our QEMU
#       run as L2 in qtest mode with -device vfio-pci,host=<edu> -device
#       virtio-iommu-pci (tests/guest/l2.sh)
#   this test drives L2 over L1's second serial port: MAP/UNMAP in L2 ->
#       IOMMU notifiers -> VFIO (L1) -> L1's IOMMU driver -> L0's IOMMU,
#       which translates edu's DMA.
# Steps: DMA in boot-bypass, the granule and PROBE's host regions, DMA
# through a mapped IOVA, a MAP beyond the host's aperture refused, the DMA
# after UNMAP refused by L0 (a fault in L0 or in L1's kernel), replay of
# mappings made before attach, a move between domains, a 3-page range, a
# device reset (back to bypass), and the count of VFIO map/unmap calls.
# Variants of the intel-iommu L0: snoop-control=on (ECAP.SC in L1, whose
# VFIO domain then enforces coherency), aw-bits=57 (a map and DMA at
# an IOVA above 2^48, edu with a 64-bit DMA mask), and x-flts (L1's VFIO
# domain on first-stage tables, which L0 walks; L0 itself has no MAP
# notifier there, which x-flts refuses).
#
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import re
import socket
import sys
import time
import unittest

from qemu_test import QemuSystemTest
from viommu_kit import GuestRun, ViommuGuestTest, on_newest_kernel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                '..', '..', 'scripts', 'bench'))
import qtest_viommu as qv  # noqa: E402

PATTERN_A = bytes((i * 7 + 1) & 0xff for i in range(4096))
PATTERN_B = bytes((i * 13 + 5) & 0xff for i in range(4096))
RAM_SRC = 0x800000          # L2 guest-physical source of DMA reads
RAM_DST = 0x900000          # L2 guest-physical target of DMA writes
EDU_BUF = 0x40000           # edu's internal buffer, in its DMA space
HIGH_IOVA = 0x123400000000000   # above 2^48: 5 levels of VT-d tables

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


def map_unmap_rate(path, kicks):
    """L2's MAP+UNMAP pairs a second through VFIO in L1 (each a VFIO map
    and unmap, each an L1 IOMMU driver update and invalidation in L0)."""
    q = wait_ready(path)
    viommu_fn = qv.find(q, 0x1af4, 0x1057)
    edu_fn = qv.find(q, 0x1234, 0x11e8)
    bars, _ = qv.map_bars(q, viommu_fn, qv.BAR_BASE)
    v = qv.VirtioIommu(q, viommu_fn, bars)
    v.init()
    if request(v, qv.attach(1, edu_fn), 20):
        raise RuntimeError('ATTACH failed')
    half = 32
    reqs = [(36, qv.map_req(1, 0x100000 + (i << 12), 0x100fff + (i << 12),
                            RAM_SRC)) for i in range(half)]
    reqs += [(28, qv.unmap_req(1, 0x100000 + (i << 12), 0x100fff + (i << 12)))
             for i in range(half)]
    v.setup_slots(reqs)
    t0 = time.perf_counter()
    for _ in range(kicks):
        v.kick(len(reqs))
    dt = time.perf_counter() - t0
    if any(v.status(i) for i in range(len(reqs))):
        raise RuntimeError('MAP/UNMAP failed')
    return kicks * half / dt


def drive(path, step, amd=False):
    """Runs every step against L2's qtest at PATH; STEP(name, ok, detail)
    records each outcome."""
    q = wait_ready(path)
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
    if amd:
        # L1's AMD-Vi domains span 64 bits (six levels) but for the
        # HyperTransport window its driver reserves: a MAP there is refused
        above = [a for t, a, b in regions
                 if (t, a, b) == (0, 0xfd00000000, 0xffffffffff)]
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
    if host_top > HIGH_IOVA:
        # L1's VFIO takes IOVAs above 2^48 (5-level tables in L0's VT-d):
        # a map there, DMA through it, and its unmap
        q.mem(RAM_DST, bytes(4096))
        st = request(v, mapr(1, HIGH_IOVA, HIGH_IOVA + 0xfff, RAM_SRC), 36)
        edu.dma(HIGH_IOVA, EDU_BUF, False)
        edu.dma(EDU_BUF, 0x200000, True)
        st |= request(v, unmapr(1, HIGH_IOVA, HIGH_IOVA + 0xfff), 28)
        step('dma-above-2^48', st == 0 and read_ram(q, RAM_DST) == PATTERN_A,
             'status %d at 0x%x' % (st, HIGH_IOVA))

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


class ViommuVfioRelay(ViommuGuestTest):

    timeout = 1200

    def relay(self, l0_machine, l0_iommu, l1_append, fault_in_l0_log,
              churn=False, bench=0, l1_fault='DMAR: [DMA', amd=False,
              edu='edu'):
        self.require_accelerator('tcg')
        sock = os.path.join(self.socket_dir().name, 'l2-qtest')
        vm, qemu_log = self.tcg_vm('l0', l0_machine, memory='2G')
        vm.add_args('-kernel', self.kit_file('amd64', 'vmlinuz'),
                    '-initrd', self.kit_file('amd64', 'initramfs-l1.cpio.gz'),
                    '-device', l0_iommu, '-device', edu,
                    *(['-device', 'pci-testdev'] if churn else []),
                    '-serial', 'unix:%s,server=on,wait=off' % sock,
                    '-append', 'console=ttyS0 panic=-1 quiet loglevel=4 %s '
                    'viommu.vfio=1 viommu.l2=1%s' % (l1_append,
                                                     ' viommu.churn=1' if churn
                                                     else ''))
        if os.getenv('VIOMMU_L0_FIRMWARE'):         # an L0 without our bundle
            vm.add_args('-L', os.environ['VIOMMU_L0_FIRMWARE'])
        vm.set_console()
        l1 = GuestRun(vm, None, qemu_log)
        vm.launch()
        drain = self.drain_console(l1)
        steps = []
        if bench:
            try:
                rate = map_unmap_rate(sock, bench)
                self.log.info('RELAY map_unmap_per_s %.1f', rate)
                print('guest_vfio_map_unmap_per_s %.1f' % rate, flush=True)
            finally:
                vm.shutdown()
                drain.join(30)
            return

        def step(name, ok, detail=''):
            self.log.info('STEP %s %s %s', name, 'ok' if ok else 'FAIL', detail)
            steps.append((name, ok, detail))

        try:
            drive(sock, step, amd)
        finally:
            # let L2's last trace lines cross L1's console: quiet for 5 s
            deadline = time.time() + 60
            while time.time() - l1.last_output < 5 and time.time() < deadline:
                time.sleep(1)
            vm.shutdown()
            drain.join(30)
        l1.steps = [n for n, ok, d in steps]
        failed = ['%s (%s)' % (n, d) for n, ok, d in steps if not ok]
        self.assertEqual(failed, [], 'failed steps')
        self.assertIn('reset-back-to-bypass', [n for n, ok, d in steps],
                      'every step ran')
        maps = sum('vfio_iommu_map_notify iommu MAP @' in l for l in l1.lines)
        unmaps = sum('vfio_iommu_map_notify iommu UNMAP @' in l for l in l1.lines)
        # 5 guest MAPs: 1 MiB (one VFIO map: no split), one page, two pages
        # made before attach (replayed), and 3 pages (8 KiB + 4 KiB blocks).
        # Unmaps: the 1 MiB one, the page left behind when edu moved
        # domains, the 3 pages, and the two pages still mapped at reset.
        # With aw-bits=57, the page above 2^48 is mapped and unmapped too.
        self.log.info('%d VFIO maps, %d VFIO unmaps', maps, unmaps)
        high = int('dma-above-2^48' in l1.steps)    # one more map, unmap
        self.assertEqual((maps, unmaps), (6 + high, 6 + high),
                         'VFIO maps and unmaps in L2')
        if fault_in_l0_log:
            faults = l1.device_faults()
        else:
            faults = sum(l1_fault in l for l in l1.lines)
        self.assertGreater(faults, 0, 'the DMA after UNMAP faulted in L0')
        if churn:
            switches = [int(m.group(1)) for m in
                        (re.match(r'CHURN (\d+)\s*$', l) for l in l1.lines)
                        if m]
            self.log.info('group switches of the other device: %s',
                          max(switches, default=0))
            self.assertGreaterEqual(max(switches, default=0), 10,
                                    'the other device switched groups '
                                    'while the relay ran')
            self.assertFalse(any('stopped' in l for l in l1.lines
                                 if l.startswith('CHURN ')),
                             'group switches kept working')
        return l1

    def test_virtio(self):
        # no interrupt remapping behind a virtio-iommu on x86: type1 needs
        # allow_unsafe_interrupts (tests/guest/init sets it)
        self.relay('q35', 'virtio-iommu-pci',
                   'iommu.strict=1 viommu.unsafe_irqs=1', True)

    def test_intel(self):
        # our intel-iommu in L0; meanwhile L1 switches a pci-testdev's
        # group between identity and DMA (context-cache invalidations of
        # that device, domain-selective IOTLB invalidations): edu's DMA is
        # never refused and VFIO's maps and unmaps stay exactly the guest's
        self.relay('q35,kernel-irqchip=split',
                   'intel-iommu,caching-mode=on,intremap=on',
                   'intel_iommu=on iommu.strict=1', False, churn=True)

    def test_intel_snoop_control(self):
        # snoop-control=on with VFIO's notifiers (stock 10.0.2 refuses the
        # pair): L1's driver sees ECAP.SC, so its VFIO domain enforces
        # cache coherency and its page tables carry SNP, which L0 walks
        l1 = self.relay('q35,kernel-irqchip=split',
                        'intel-iommu,caching-mode=on,intremap=on,'
                        'snoop-control=on', 'intel_iommu=on iommu.strict=1',
                        False)
        self.assertEqual(int(l1.result('dmar.ecap'), 16) >> 7 & 1, 1,
                         'ECAP.SC as L1\'s driver read it')

    def test_intel_aw_bits_57(self):
        # aw-bits=57 in L0: L1's VFIO domain spans 57 bits, and L2 maps and
        # DMAs at an IOVA above 2^48 (edu with a 64-bit DMA mask)
        l1 = self.relay('q35,kernel-irqchip=split',
                        'intel-iommu,caching-mode=on,intremap=on,aw-bits=57',
                        'intel_iommu=on iommu.strict=1', False,
                        edu='edu,dma_mask=0xffffffffffffffff')
        self.assertIn('dma-above-2^48', l1.steps, 'DMA above 2^48 ran')

    def test_intel_first_stage(self):
        # x-flts in L0: L1 keeps its VFIO domain on first-stage tables (6.13
        # and later choose them whenever offered, and flush nothing on map);
        # L0 walks them for edu's DMA
        l1 = self.relay('q35,kernel-irqchip=split',
                        'intel-iommu,caching-mode=on,intremap=on,'
                        'x-scalable-mode=on,x-flts=on,aw-bits=48',
                        'intel_iommu=sm_on iommu.strict=1', False)
        self.assertEqual(int(l1.result('dmar.ecap'), 16) >> 47 & 1, 1,
                         'ECAP.FLTS as L1\'s driver read it')

    def test_amd(self):
        # our amd-iommu in L0, the same steps; L1's driver logs the DMA
        # after UNMAP as an IO_PAGE_FAULT event
        self.relay('q35,kernel-irqchip=split', 'amd-iommu,intremap=on',
                   'amd_iommu=on iommu.strict=1', False, churn=True,
                   l1_fault='IO_PAGE_FAULT', amd=True)

    # make bench: VIOMMU_BENCH_RELAY=<kicks of 32 MAP+UNMAP pairs>
    @unittest.skipUnless(os.getenv('VIOMMU_BENCH_RELAY'), 'make bench only')
    def test_intel_map_unmap_rate(self):
        self.relay('q35,kernel-irqchip=split',
                   'intel-iommu,caching-mode=on,intremap=on',
                   'intel_iommu=on iommu.strict=1', False,
                   bench=int(os.environ['VIOMMU_BENCH_RELAY']))


ViommuVfioRelayNewest = on_newest_kernel(ViommuVfioRelay)


if __name__ == '__main__':
    QemuSystemTest.main()
