#!/usr/bin/env python3
"""A hostile guest against our amd-iommu (AMD-Vi), over qtest on q35.

What freezes stock QEMU 10.0.2 (a command buffer tail written out of the
buffer: 0xa81aa40a at 0x2008), every MMIO offset and size, completion
waits (store and interrupt status), illegal commands (ILLEGAL_COMMAND
logged with the command's address, the buffer stopped there and running
again once software re-enables it), device table entries with reserved
bits (ILLEGAL_DEV_TABLE_ENTRY), DMA of an edu device through v1 page
tables (data intact; IO_PAGE_FAULT with the device, domain and address),
a page table that points at itself, event log overflow and Linux's
restart, interrupt requests blocked, unmapped or beyond the interrupt
table (IO_PAGE_FAULT with I), every interrupt table length (1 to 2048
entries remap, the reserved encodings log one ILLEGAL_DEV_TABLE_ENTRY),
completion stores and the event log aimed
at the IOMMU's own
registers, a bridge the guest unplugs (native hotplug) while its bus has
address spaces, and a seeded random walk through registers, commands,
tables and DMA. Each time QEMU keeps answering and the event log says what the
spec says.

Usage: hostile_amd.py QEMU_BINARY FIRMWARE_DIR [STEPS]
"""
import os
import random
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

BASE = 0xfed80000
DEVTAB, CMDBUF, EVTLOG, CONTROL, EFR = 0x00, 0x08, 0x10, 0x18, 0x30
CMD_HEAD, CMD_TAIL, EVT_HEAD, EVT_TAIL, STATUS = (0x2000, 0x2008, 0x2010,
                                                  0x2018, 0x2020)
IOMMU_EN, EVT_LOG_EN, EVT_INT_EN, CMDBUF_EN = 1, 1 << 2, 1 << 3, 1 << 12
EVT_OVERFLOW, COMWAIT_INT, EVT_RUN, CMD_RUN = 1, 1 << 2, 1 << 3, 1 << 4

DT, CB, EL = 0x100000, 0x110000, 0x120000       # 4 KiB each: 128 DTEs,
PT = 0x130000                                   # 256 commands, 256 events
DATA, CW = 0x140000, 0x150000
EDU_BAR = 0xe0000000
IOVA = 0x400000
DOMAIN = 0x2a

ILLEGAL_DTE, IO_PAGE_FAULT, ILLEGAL_COMMAND, COMMAND_HW_ERROR = 1, 2, 5, 6


def cw(addr, data, store=True, intr=False):
    return (addr & 0xfffffff8 | store | intr << 1, addr >> 32 | 1 << 28,
            data & 0xffffffff, data >> 32)


def inv_devtab(devid):
    return (devid, 2 << 28, 0, 0)


def inv_pages_all(domain):
    return (0, domain | 3 << 28, 0xfffff000 | 3, 0x7fffffff)


def inv_all():
    return (0, 8 << 28, 0, 0)


class Amd:
    def __init__(self, binary, fw, opts='', more=()):
        self.q = qv.Qtest(binary, fw, [], machine='q35',
                          devices=('-device', 'amd-iommu' + opts,
                                   '-device', 'edu') + tuple(more))
        self.tail = 0
        self.events_seen = 0
        self.edu_fn = qv.find(self.q, 0x1234, 0x11e8)
        bars, self.next_bar = qv.map_bars(self.q, self.edu_fn, EDU_BAR)
        self.edu = bars[0]

    def rd(self, off, size=8):
        return self.q.rd({1: 'b', 2: 'w', 4: 'l', 8: 'q'}[size], BASE + off)

    def wr(self, off, val, size=8):
        self.q.wr({1: 'b', 2: 'w', 4: 'l', 8: 'q'}[size], BASE + off, val)

    def alive(self):
        try:
            return self.rd(EFR) in (0x8c1, 0x8c5)
        except (RuntimeError, OSError):
            return False

    def enable(self, control=0):
        self.wr(DEVTAB, DT)
        self.wr(CMDBUF, CB | 8 << 56)
        self.wr(EVTLOG, EL | 8 << 56)
        self.wr(CMD_HEAD, 0)
        self.wr(CMD_TAIL, 0)
        self.wr(EVT_HEAD, 0)
        self.wr(EVT_TAIL, 0)
        self.wr(CONTROL, IOMMU_EN | EVT_LOG_EN | CMDBUF_EN | control)
        self.tail = 0

    def submit(self, *cmds):
        for c in cmds:
            self.q.mem(CB + self.tail, struct.pack('<IIII', *c))
            self.tail = (self.tail + 16) % 4096
        self.wr(CMD_TAIL, self.tail)

    def dte(self, devid, q0, q1=0, q2=0, q3=0):
        self.q.mem(DT + 32 * devid, struct.pack('<QQQQ', q0, q1, q2, q3))
        self.submit(inv_devtab(devid))

    def events(self):
        """The events logged since the last call, as (code, d0..d3)."""
        head, tail, out = self.rd(EVT_HEAD), self.rd(EVT_TAIL), []
        if head >= 4096 or tail >= 4096:        # the random walk's doing
            self.wr(EVT_HEAD, tail)
            return out
        while head != tail:
            d = struct.unpack('<IIII', self.q.read(EL + head, 16))
            out.append((d[1] >> 28,) + d)
            head = (head + 16) % 4096
        self.wr(EVT_HEAD, head)
        return out

    def dma(self, src, dst, size, to_ram):
        """One edu transfer (RAM to edu, or edu to RAM), 100 ms of its time."""
        self.q.cmds(['writeq 0x%x 0x%x' % (self.edu + 0x80, src),
                     'writeq 0x%x 0x%x' % (self.edu + 0x88, dst),
                     'writeq 0x%x 0x%x' % (self.edu + 0x90, size),
                     'writeq 0x%x 0x%x' % (self.edu + 0x98, 3 if to_ram else 1),
                     'clock_step 100000000'])

    def close(self):
        self.q.close()


def v1_tables(a, mapped=True):
    """Mode 3 tables: IOVA .. IOVA + 16 KiB -> DATA, read/write."""
    l3, l2, l1 = PT, PT + 0x1000, PT + 0x2000
    rw = 3 << 61
    a.q.mem(l3, b'\0' * 0x3000)
    a.q.mem(l3, struct.pack('<Q', l2 | 2 << 9 | 1 | rw))
    a.q.mem(l2 + 8 * (IOVA >> 21), struct.pack('<Q', l1 | 1 << 9 | 1 | rw))
    for i in range(4 if mapped else 0):
        a.q.mem(l1 + 8 * ((IOVA >> 12) % 512 + i),
                struct.pack('<Q', (DATA + 0x1000 * i) | 1 | rw))
    a.dte(a.edu_fn, 3 | 3 << 9 | l3 | rw, DOMAIN)


def test_register_sizes(binary, fw):
    """Every register offset, every size, read and written; then the tail
    write that freezes stock 10.0.2."""
    a = Amd(binary, fw, ',intremap=on,xtsup=on')
    for off in list(range(0, 0x200)) + list(range(0x2000, 0x2050)) + \
            [0x3ff8, 0x3fff, 0x1000, 0x2100]:
        for size in (1, 2, 4, 8):
            a.rd(off & ~(size - 1), size)
            a.wr(off & ~(size - 1), 0xffffffffffffffff, size)
    check('reads and writes of every size at 0..0x1ff, 0x2000..0x204f',
          a.alive())
    a.close()
    a = Amd(binary, fw)
    a.enable()
    a.wr(CMD_TAIL, 0xa81aa40a, 4)
    ev = a.events()
    check('tail 0xa81aa40a beyond a 4 KiB buffer: QEMU answers', a.alive())
    check('... COMMAND_HARDWARE_ERROR logged, the buffer stopped',
          [e[0] for e in ev] == [COMMAND_HW_ERROR] and
          not a.rd(STATUS) & CMD_RUN, '%s status 0x%x' % (ev, a.rd(STATUS)))
    a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN)
    a.wr(CMD_HEAD, 0)
    a.wr(CMD_TAIL, 0)
    a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN | CMDBUF_EN)
    a.tail = 0
    a.submit(cw(CW, 0x5a5a))
    check('... and runs again once re-enabled',
          a.q.read(CW, 8) == struct.pack('<Q', 0x5a5a) and
          a.rd(STATUS) & CMD_RUN)
    a.close()


def test_completion_wait(binary, fw):
    a = Amd(binary, fw)
    a.enable()
    a.submit(cw(CW, 0x1122334455667788))
    check('COMPLETION_WAIT stores its data',
          a.q.read(CW, 8) == struct.pack('<Q', 0x1122334455667788))
    a.submit(cw(CW, 0, store=False, intr=True))
    check('COMPLETION_WAIT with I sets ComWaitInt', a.rd(STATUS) & COMWAIT_INT)
    a.wr(STATUS, COMWAIT_INT)
    check('ComWaitInt is write-1-to-clear', not a.rd(STATUS) & COMWAIT_INT)
    check('head follows tail', a.rd(CMD_HEAD) == a.rd(CMD_TAIL) == a.tail)
    a.close()


BAD_COMMANDS = {
    'opcode 0': (0, 0, 0, 0),
    'opcode 9': (0, 9 << 28, 0, 0),
    'opcode 15': (0, 15 << 28, 0, 0),
    'COMPLETE_PPR_REQUEST (PPR not offered)': (0, 7 << 28, 0, 0),
    'INVALIDATE_DEVTAB_ENTRY reserved bits': (1 | 1 << 20, 2 << 28, 0, 0),
    'INVALIDATE_IOMMU_PAGES with GN (no guest tables)':
        (0, 3 << 28 | 1, 4, 0),
    'INVALIDATE_IOMMU_ALL reserved bits': (0, 8 << 28, 1, 0),
}


def test_illegal_commands(binary, fw):
    a = Amd(binary, fw)
    a.enable()
    for name, c in BAD_COMMANDS.items():
        at = a.tail
        a.submit(c, cw(CW, 0x77))
        ev = a.events()
        check('%s: ILLEGAL_COMMAND at its address, buffer stopped there'
              % name, [e[0] for e in ev] == [ILLEGAL_COMMAND] and
              ev[0][3] == CB + at and a.rd(CMD_HEAD) == at and
              not a.rd(STATUS) & CMD_RUN and a.alive(),
              '%s head 0x%x status 0x%x' % (ev, a.rd(CMD_HEAD),
                                             a.rd(STATUS)))
        # software fixes the command and re-enables the buffer
        a.q.mem(CB + at, struct.pack('<IIII', *cw(CW, 0x66)))
        a.q.mem(CW, bytes(8))
        a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN)
        a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN | CMDBUF_EN)
        check('%s: fixed, the buffer runs on' % name,
              a.q.read(CW, 8) == struct.pack('<Q', 0x77) and
              a.rd(CMD_HEAD) == a.tail)
    a.close()


def test_dma(binary, fw):
    """edu's DMA through the tables; faults of 4-byte transfers (each
    access that faults is an event)."""
    a = Amd(binary, fw)
    a.enable()
    v1_tables(a)
    pattern = bytes(range(256)) * 16
    a.q.mem(DATA, pattern)
    a.dma(IOVA, 0x40000, 0x1000, to_ram=False)
    a.dma(0x40000, IOVA + 0x1000, 0x1000, to_ram=True)
    check('DMA through v1 tables: data intact',
          a.q.read(DATA + 0x1000, 0x1000) == pattern)
    check('no event', a.events() == [])
    a.dma(IOVA + 0x8000, 0x40000, 4, to_ram=False)
    ev = a.events()
    check('unmapped read: IO_PAGE_FAULT with edu, domain, address',
          len(ev) == 1 and ev[0][0] == IO_PAGE_FAULT and
          ev[0][1] == a.edu_fn and ev[0][2] & 0xffff == DOMAIN and
          ev[0][3] == IOVA + 0x8000, str(ev))
    # reserved bits in the entry: ILLEGAL_DEV_TABLE_ENTRY
    a.dte(a.edu_fn, 3 | 3 << 9 | PT | 3 << 61 | 1 << 55, DOMAIN)
    a.dma(IOVA, 0x40000, 4, to_ram=False)
    ev = a.events()
    check('DTE with GV (not offered): ILLEGAL_DEV_TABLE_ENTRY of edu',
          len(ev) == 1 and ev[0][0] == ILLEGAL_DTE and
          ev[0][1] == a.edu_fn, str(ev))
    a.dte(a.edu_fn, 3 | 7 << 9 | PT | 3 << 61, DOMAIN)
    a.dma(IOVA, 0x40000, 4, to_ram=False)
    check('DTE with Mode 7: ILLEGAL_DEV_TABLE_ENTRY',
          [e[0] for e in a.events()] == [ILLEGAL_DTE])
    # a table that points at itself, with a Next Level that does not drop
    a.q.mem(PT, struct.pack('<Q', PT | 3 << 9 | 1 | 3 << 61))
    a.dte(a.edu_fn, 3 | 3 << 9 | PT | 3 << 61, DOMAIN)
    a.dma(IOVA, 0x40000, 4, to_ram=False)
    ev = a.events()
    check('self-referencing table: IO_PAGE_FAULT, QEMU answers',
          [e[0] for e in ev] == [IO_PAGE_FAULT] and a.alive(), str(ev))
    # Mode 0 with IR only: reads pass, writes fault
    a.dte(a.edu_fn, 3 | 1 << 61, DOMAIN)
    a.dma(DATA, 0x40000, 0x1000, to_ram=False)
    a.dma(0x40000, DATA + 0x2000, 4, to_ram=True)
    ev = a.events()
    check('Mode 0 with IR only: the write faults',
          [e[0] for e in ev] == [IO_PAGE_FAULT] and (ev[0][2] >> 16) & 0x20,
          str(ev))
    a.close()


def test_overflow(binary, fw):
    a = Amd(binary, fw)
    a.enable()
    v1_tables(a, mapped=False)
    for i in range(300):
        a.dma(IOVA + 0x1000 * (i % 4), 0x40000, 4, to_ram=False)
    st = a.rd(STATUS)
    check('300 faults in a log of 256: EventOverflow, logging stopped',
          st & EVT_OVERFLOW and not st & EVT_RUN, hex(st))
    check('... 255 events in the log', len(a.events()) == 255)
    # Linux's restart: EventLogEn off, overflow cleared, EventLogEn on
    a.wr(CONTROL, IOMMU_EN | CMDBUF_EN)
    a.wr(STATUS, EVT_OVERFLOW)
    a.wr(CONTROL, IOMMU_EN | CMDBUF_EN | EVT_LOG_EN)
    a.dma(IOVA, 0x40000, 4, to_ram=False)
    check('restarted: the next fault is logged',
          [e[0] for e in a.events()] == [IO_PAGE_FAULT] and
          a.rd(STATUS) & EVT_RUN)
    a.close()


def test_self_targets(binary, fw):
    """Completion stores and the event log aimed at the IOMMU's own
    registers: nothing is written there (RAM only), so a store cannot
    rewind the command buffer's head and run it forever."""
    a = Amd(binary, fw)
    a.enable()
    # 4000 commands: more than one 2 ms slice, the rest from a bottom half
    a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN)
    a.wr(CMDBUF, CB | 12 << 56)                     # 4096 entries
    a.q.mem(CB, struct.pack('<IIII', *inv_all()) * 4000 +
            struct.pack('<IIII', *cw(BASE + CMD_HEAD, 0)))
    a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN | CMDBUF_EN)
    a.wr(CMD_TAIL, 4001 * 16)
    heads = [a.rd(CMD_HEAD) for _ in range(400)]
    check('COMPLETION_WAIT storing 0 into CmdHead: not done, the buffer '
          'ends and stays ended', heads[-50:] == [4001 * 16] * 50 and
          a.alive(), 'heads %s' % heads[-5:])
    a.wr(CONTROL, IOMMU_EN | EVT_LOG_EN)
    a.wr(CMDBUF, CB | 8 << 56)
    a.enable()
    a.wr(CONTROL, IOMMU_EN | CMDBUF_EN)
    a.wr(EVTLOG, (BASE + CONTROL) | 8 << 56)
    a.wr(CONTROL, IOMMU_EN | CMDBUF_EN | EVT_LOG_EN)
    a.submit((0, 0, 0, 0))                  # ILLEGAL_COMMAND: one event
    check('an event logged onto the registers: Control untouched',
          a.rd(CONTROL) == IOMMU_EN | CMDBUF_EN | EVT_LOG_EN and a.alive())
    a.close()


IRT = 0x160000      # the interrupt remapping table of the tests below


def with_edu_msi(binary, fw, irt_bytes):
    """Our amd-iommu with intremap=on and a QMP socket, enabled, an empty
    table of IRT_BYTES at IRT, and edu's MSI (not yet enabled) aimed at the
    interrupt window. Returns the Amd, its Qmp, the MSI capability's
    offset, its control word and the offset of its data register."""
    qmp_path = os.path.join(tempfile.mkdtemp(), 'qmp.sock')
    a = Amd(binary, fw, ',intremap=on',
            ('-qmp', 'unix:%s,server=on,wait=off' % qmp_path))
    qmp = qv.Qmp(qmp_path)
    a.enable()
    a.q.mem(IRT, bytes(irt_bytes))
    msi = qv.find_cap(a.q, a.edu_fn, 0x05)
    ctl = qv.cfg_read(a.q, a.edu_fn, msi + 2, 2)
    qv.cfg_write(a.q, a.edu_fn, msi + 4, 4, 0xfee00000)
    return a, qmp, msi, ctl, msi + (0xc if ctl & 0x80 else 0x8)


def test_interrupts(binary, fw):
    """edu's MSI (raised when its DMA ends) under a device table entry
    without V (DMA untranslated) and with IV: blocked, not remapped or
    beyond the table, each logs IO_PAGE_FAULT with I; a good IRTE logs
    nothing."""
    a, _, msi, ctl, data_at = with_edu_msi(binary, fw, 2048)
    q = a.q

    def request(index, q2):
        a.dte(a.edu_fn, 0, 0, q2)
        qv.cfg_write(q, a.edu_fn, data_at, 2, index)
        qv.cfg_write(q, a.edu_fn, msi + 2, 2, ctl | 1)
        q.cmds(['writeq 0x%x 0x%x' % (a.edu + 0x80, DATA),
                'writeq 0x%x 0x%x' % (a.edu + 0x88, 0x40000),
                'writeq 0x%x 0x%x' % (a.edu + 0x90, 4),
                'writeq 0x%x 0x%x' % (a.edu + 0x98, 1 | 4),  # with its IRQ
                'clock_step 100000000'])
        return a.events()

    remap = 1 | 9 << 1 | IRT | 2 << 60
    for name, index, q2 in (('IntCtl abort', 5, 1),
                            ('IRTE without RemapEn', 5, remap),
                            ('index beyond a 2-entry table', 5,
                             1 | 1 << 1 | IRT | 2 << 60)):
        ev = request(index, q2)
        check('interrupt, %s: IO_PAGE_FAULT with I from edu' % name,
              len(ev) == 1 and ev[0][0] == IO_PAGE_FAULT and
              ev[0][1] == a.edu_fn and (ev[0][2] >> 16) & 0x8, str(ev))
    q.mem(IRT + 4 * 5, struct.pack('<I', 1 | 0x41 << 16))   # vector 0x41
    check('interrupt through a good IRTE: no event',
          request(5, remap) == [] and a.alive())
    a.close()


def test_inttablen(binary, fw):
    """Every IntTabLen (DTE bits 132:129): 0000b-1011b are 1 to 2048
    entries, and an interrupt through the last entry of each (at most 511,
    the highest a fixed interrupt names without 2K mode) goes through
    without an event; 1100b-1111b are reserved: ILLEGAL_DEV_TABLE_ENTRY
    with I, once for the entry however many interrupts follow, until
    software invalidates it."""
    a, qmp, msi, ctl, data_at = with_edu_msi(binary, fw, 8192)
    q = a.q
    qv.cfg_write(q, a.edu_fn, msi + 2, 2, ctl | 1)

    def interrupt(index):
        qv.cfg_write(q, a.edu_fn, data_at, 2, index)
        q.cmds(['writel 0x%x 0x1' % (a.edu + 0x60),     # raise
                'writel 0x%x 0x1' % (a.edu + 0x64)])    # acknowledge

    for n in range(16):
        a.dte(a.edu_fn, 0, 0, 1 | n << 1 | IRT | 2 << 60)
        # without 2K mode (not offered) MSI data bits 10:8 also carry the
        # message type: fixed and arbitrated reach entries 0 to 511
        last = min((1 << n) - 1, 511) if n <= 11 else 0
        vector = 0x40 + n
        q.mem(IRT + 4 * last, struct.pack('<I', 1 | vector << 16))
        for _ in range(3):
            interrupt(last)
        ev = a.events()
        if n <= 11:
            pending = qmp.lapic_irr()
            check('IntTabLen %d (%d entries): entry %d remapped to vector '
                  '0x%x (pending in the local APIC), no event'
                  % (n, 1 << n, last, vector),
                  ev == [] and vector in pending, '%s, IRR %s' % (ev, pending))
        else:
            check('IntTabLen %d (reserved): one ILLEGAL_DEV_TABLE_ENTRY '
                  'with I for three interrupts' % n,
                  len(ev) == 1 and ev[0][0] == ILLEGAL_DTE and
                  ev[0][1] == a.edu_fn and (ev[0][2] >> 16) & 0x8, str(ev))
    check('QEMU keeps running', a.alive())
    a.close()


def test_bridge_unplug(binary, fw):
    """The guest powers off a root port's slot (native hotplug) that holds
    a PCIe-to-PCI bridge with edu behind it: QEMU unplugs the bridge, and
    the spaces of the bus inside it must not be read once it is freed
    (malloc perturbation makes a read of freed memory crash)."""
    os.environ['MALLOC_PERTURB_'] = '165'
    try:
        a = Amd(binary, fw, more=(
            '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
            '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1',
            '-device', 'pcie-pci-bridge,id=br1,bus=rp1',
            '-device', 'edu,bus=br1,addr=1'))
    finally:
        del os.environ['MALLOC_PERTURB_']
    q = a.q
    rp = qv.find(q, 0x1b36, 0x000c)
    slot_ctl = qv.find_cap(q, rp, 0x10) + 0x18
    a.enable()
    a.submit(inv_all())                     # every space, the bridge's too
    qv.cfg_write(q, rp, slot_ctl, 2,
                 qv.cfg_read(q, rp, slot_ctl, 2) | 0x0400 | 0x0300)
    q.cmd('clock_step 100000000')
    ok = True
    for i in range(50):
        ent = struct.pack('<QQQQ', (3 | 3 << 9 | PT | 3 << 61) if i & 1
                          else 0, 1, 0, 0)
        a.q.mem(DT, ent * 128)
        a.wr(CONTROL, (IOMMU_EN if i & 2 else 0) | EVT_LOG_EN | CMDBUF_EN)
        a.submit(inv_all())
        if not a.alive():
            ok = False
            break
    check('bridge unplugged by the guest, then 50 rounds of device table '
          'changes and INVALIDATE_IOMMU_ALL: QEMU keeps running', ok)
    a.close()


def test_random_walk(binary, fw, steps):
    """Random registers, commands, tables and DMA from a fixed seed."""
    a = Amd(binary, fw, ',intremap=on')
    rng = random.Random(2026)
    a.enable()
    v1_tables(a)
    ok = True
    for i in range(steps):
        k = rng.randrange(6)
        if k == 0:
            size = rng.choice((1, 2, 4, 8))
            off = rng.choice((rng.randrange(0, 0x200), rng.randrange(0x2000,
                                                                     0x2050)))
            a.wr(off & ~(size - 1), rng.getrandbits(8 * size), size)
        elif k == 1:
            c = [rng.getrandbits(32) for _ in range(4)]
            c[1] = c[1] & 0x0fffffff | rng.randrange(1, 10) << 28
            if rng.random() < 0.5:
                c[0] &= 0xffff
                c[2] &= 0xfffff003
            a.q.mem(CB + 16 * rng.randrange(256), struct.pack('<IIII', *c))
            a.wr(CMD_TAIL, rng.randrange(256) << 4)
        elif k == 2:
            page = rng.choice((DT, PT, PT + 0x1000, PT + 0x2000))
            a.q.mem(page + 8 * rng.randrange(512),
                    struct.pack('<Q', rng.getrandbits(64)))
        elif k == 3:
            a.dma(IOVA + 0x1000 * rng.randrange(4), 0x40000, 0x100,
                  to_ram=rng.random() < 0.5)
        elif k == 4:
            a.events()
        else:
            a.rd(rng.randrange(0, 0x4000), rng.choice((1, 2, 4, 8)))
        if i % 100 == 99 and not a.alive():
            ok = False
            break
    check('%d random steps: QEMU keeps running' % steps, ok and a.alive())
    a.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    test_register_sizes(binary, fw)
    test_completion_wait(binary, fw)
    test_illegal_commands(binary, fw)
    test_dma(binary, fw)
    test_overflow(binary, fw)
    test_interrupts(binary, fw)
    test_inttablen(binary, fw)
    test_self_targets(binary, fw)
    test_bridge_unplug(binary, fw)
    test_random_walk(binary, fw, steps)
    return summary('hostile_amd')


if __name__ == '__main__':
    sys.exit(main())
