#!/usr/bin/env python3
"""qemu-viommu benchmark driver: talks QEMU's qtest protocol to a
qemu-system-x86_64 (-M pc -accel qtest) with a virtio-iommu-pci and an edu
device, sets up the virtio-iommu request queue as a driver would (virtio 1.3
4.1.4 modern PCI transport, 5.13 IOMMU device) and measures:

  map-unmap  MAP+UNMAP requests per second through the virtqueue
  dma        edu DMA transfers per second translated by the vIOMMU
  memory     resident bytes per mapping with N mappings in one domain

Usage: qtest_viommu.py QEMU_BINARY FIRMWARE_DIR TEST [N]
Prints one line: "<value>".
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

QSIZE = 256
DESC, AVAIL, USED = 0x100000, 0x110000, 0x120000
REQS = 0x200000            # request slots, 64 bytes each
SLOT = 64
PROBE_BUF = 0x280000       # device-writable part of a PROBE request
INDIRECT = 0x140000        # one 2-entry indirect table per request slot
F_INDIRECT_DESC, F_EVENT_IDX = 28, 29
EDU_BUF = 0x800000         # guest RAM the edu device reads by DMA
BAR_BASE = 0xe0000000


class Qtest:
    def __init__(self, binary, fw, extra,
                 devices=('-device', 'virtio-iommu-pci', '-device', 'edu'),
                 machine='pc'):
        self.dir = tempfile.mkdtemp()
        path = os.path.join(self.dir, 'qtest.sock')
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        self.proc = subprocess.Popen(
            [binary, '-L', fw, '-M', machine, '-accel', 'qtest', '-m', '512',
             '-nodefaults', '-display', 'none', '-qtest', 'unix:' + path,
             '-qtest-log', 'none'] +
            list(devices) + extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        srv.settimeout(30)
        self.sock, _ = srv.accept()
        self.rf = self.sock.makefile('rb')

    @classmethod
    def over_socket(cls, sock, timeout=600):
        """Speaks to a QEMU whose qtest chardev is reached through @sock."""
        self = cls.__new__(cls)
        self.proc = None
        self.sock = sock
        self.sock.settimeout(timeout)
        self.rf = self.sock.makefile('rb')
        return self

    def cmd(self, line):
        return self.cmds([line])[0]

    def cmds(self, lines):
        """Sends @lines at once (qtest runs them in order); their replies."""
        self.sock.sendall(''.join(line + '\n' for line in lines).encode())
        replies = []
        while len(replies) < len(lines):
            raw = self.rf.readline()
            if not raw:
                raise RuntimeError('QEMU closed the qtest connection')
            reply = raw.decode(errors='replace').split()
            if reply and reply[0] == 'OK':
                replies.append(reply[1:])
            elif reply and reply[0] == 'FAIL':
                raise RuntimeError(lines[len(replies)] + ': ' +
                                   ' '.join(reply))
        return replies

    def out(self, size, port, val):
        self.cmd('out%s 0x%x 0x%x' % (size, port, val))

    def inp(self, size, port):
        return int(self.cmd('in%s 0x%x' % (size, port))[0], 16)

    def rd(self, size, addr):
        return int(self.cmd('read%s 0x%x' % (size, addr))[0], 16)

    def wr(self, size, addr, val):
        self.cmd('write%s 0x%x 0x%x' % (size, addr, val))

    def mem(self, addr, data):
        self.cmd('b64write 0x%x 0x%x %s' % (addr, len(data),
                                            base64.b64encode(data).decode()))

    def read(self, addr, size):
        return base64.b64decode(self.cmd('b64read 0x%x 0x%x' % (addr, size))[0])

    def cpu_seconds(self):
        """CPU time QEMU has used so far, user and system."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def rss(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024

    def close(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        else:
            self.sock.close()


def cfg_addr(devfn, off, bus=0):
    return 0x80000000 | bus << 16 | devfn << 8 | off



class Qmp:
    """A QMP client on the unix socket at @path (QEMU started with
    -qmp unix:PATH,server=on,wait=off): cmd() returns the reply, skipping
    events."""

    def __init__(self, path):
        for _ in range(100):
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        self.sock.settimeout(30)
        self.f = self.sock.makefile('rw')
        json.loads(self.f.readline())           # the greeting
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        self.f.write(json.dumps({'execute': name, 'arguments': args}) + '\n')
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if 'event' not in reply:
                return reply

    def lapic_irr(self):
        """The vectors pending in CPU 0's local APIC (HMP 'info lapic')."""
        out = self.cmd('human-monitor-command',
                       **{'command-line': 'info lapic'})['return']
        line = [x for x in out.splitlines() if x.startswith('IRR')][0]
        return [int(v) for v in line.split()[1:] if v.isdigit()]

def cfg_read(q, devfn, off, size, bus=0):
    q.out('l', 0xcf8, cfg_addr(devfn, off & ~3, bus))
    val = q.inp('l', 0xcfc)
    return (val >> ((off & 3) * 8)) & ((1 << (size * 8)) - 1)


def cfg_write(q, devfn, off, size, val, bus=0):
    q.out('l', 0xcf8, cfg_addr(devfn, off & ~3, bus))
    port = 0xcfc + (off & 3)
    q.out({1: 'b', 2: 'w', 4: 'l'}[size], port, val)


def find_cap(q, devfn, cap_id):
    """The offset of capability @cap_id in @devfn's configuration space."""
    off = cfg_read(q, devfn, 0x34, 1)
    while off:
        if cfg_read(q, devfn, off, 1) == cap_id:
            return off
        off = cfg_read(q, devfn, off + 1, 1)
    raise RuntimeError('no capability 0x%x' % cap_id)


def find(q, vendor, device):
    for devfn in range(256):
        if cfg_read(q, devfn, 0, 4) == device << 16 | vendor:
            return devfn
    raise RuntimeError('no %04x:%04x' % (vendor, device))


def map_bars(q, devfn, base):
    """Assigns every memory BAR, enables memory and bus mastering."""
    bars, bar = {}, 0
    while bar < 6:
        off = 0x10 + bar * 4
        orig = cfg_read(q, devfn, off, 4)
        cfg_write(q, devfn, off, 4, 0xffffffff)
        size_lo = cfg_read(q, devfn, off, 4)
        if orig & 1 or size_lo == 0:
            bar += 1
            continue
        is64 = (orig >> 1) & 3 == 2
        size = (~(size_lo & ~0xf) & 0xffffffff) + 1
        base = (base + size - 1) & ~(size - 1)
        cfg_write(q, devfn, off, 4, base & 0xffffffff)
        if is64:
            cfg_write(q, devfn, off + 4, 4, 0)
        bars[bar] = base
        base += size
        bar += 2 if is64 else 1
    cfg_write(q, devfn, 4, 2, 0x6)      # memory space + bus master
    return bars, base


class VirtioIommu:
    def __init__(self, q, devfn, bars, rings=(DESC, AVAIL, USED)):
        self.q = q
        self.desc, self.avail, self.used = rings
        self.dma_offset = 0     # device addresses: guest-physical + this
        caps = {}
        ptr = cfg_read(q, devfn, 0x34, 1)
        while ptr:
            if cfg_read(q, devfn, ptr, 1) == 0x09:
                ctype = cfg_read(q, devfn, ptr + 3, 1)
                bar = cfg_read(q, devfn, ptr + 4, 1)
                off = cfg_read(q, devfn, ptr + 8, 4)
                if bar in bars:
                    caps.setdefault(ctype, (bars[bar] + off, ptr))
            ptr = cfg_read(q, devfn, ptr + 1, 1)
        self.common = caps[1][0]
        self.device_cfg = caps[4][0]
        notify_base, notify_cap = caps[2]
        self.notify_mult = cfg_read(q, devfn, notify_cap + 16, 4)
        self.notify_base = notify_base
        self.avail_idx = 0
        self.used_idx = 0

    def choose_features(self, lo, hi):
        """The device's features, and the ring features Linux takes (2.7);
        VIRTIO_F_VERSION_1."""
        return (lo & (1 << 0 | 1 << 1 | 1 << 2 | 1 << 4 | 1 << 6 |
                      1 << F_INDIRECT_DESC | 1 << F_EVENT_IDX), hi & 1)

    def init(self):
        q, c = self.q, self.common
        q.wr('b', c + 0x14, 0)
        q.wr('b', c + 0x14, 1 | 2)
        q.wr('l', c + 0x00, 0)
        lo = q.rd('l', c + 0x04)
        q.wr('l', c + 0x00, 1)
        hi = q.rd('l', c + 0x04)
        want_lo, want_hi = self.choose_features(lo, hi)
        self.indirect = bool(want_lo & 1 << F_INDIRECT_DESC)
        q.wr('l', c + 0x08, 0)
        q.wr('l', c + 0x0c, want_lo)
        q.wr('l', c + 0x08, 1)
        q.wr('l', c + 0x0c, want_hi)
        q.wr('b', c + 0x14, 1 | 2 | 8)
        if not q.rd('b', c + 0x14) & 8:
            raise RuntimeError('the device refused the features')
        q.wr('w', c + 0x16, 0)                      # request queue
        q.wr('w', c + 0x18, QSIZE)
        q.wr('q', c + 0x20, self.desc + self.dma_offset)
        q.wr('q', c + 0x28, self.avail + self.dma_offset)
        q.wr('q', c + 0x30, self.used + self.dma_offset)
        self.notify = (self.notify_base +
                       q.rd('w', c + 0x1e) * self.notify_mult)
        q.mem(self.avail, bytes(4 + 2 * QSIZE + 2))
        q.mem(self.used, bytes(4 + 8 * QSIZE + 2))
        q.wr('w', c + 0x1c, 1)
        q.wr('b', c + 0x14, 1 | 2 | 4 | 8)

    def setup_slots(self, reqs):
        """Descriptors and avail ring for len(reqs) requests in slots: as
        Linux does, one indirect descriptor per request when negotiated
        (up to QSIZE requests), else a chain of two (up to QSIZE / 2)."""
        descs, tables, ring = b'', b'', b''
        for i, (out_len, _) in enumerate(reqs):
            out = REQS + i * SLOT
            pair = (struct.pack('<QIHH', out, out_len, 1, 1) +
                    struct.pack('<QIHH', out + 48, 4, 2, 0))
            if self.indirect:
                descs += struct.pack('<QIHH', INDIRECT + 32 * i, 32, 4, 0)
                tables += pair
                ring += struct.pack('<H', i)
            else:
                descs += pair[:14] + struct.pack('<H', 2 * i + 1) + pair[16:]
                ring += struct.pack('<H', 2 * i)
        self.q.mem(self.desc, descs)
        if tables:
            self.q.mem(INDIRECT, tables)
        self.q.mem(self.avail + 4, ring * (QSIZE // len(reqs)))
        self.write_slots([r for _, r in reqs])

    def write_slots(self, payloads):
        blob = b''.join(p.ljust(SLOT, b'\0') for p in payloads)
        self.q.mem(REQS, blob)

    def kick(self, n, times=1):
        """Makes @n more requests available, notifies and waits for them;
        @times over, reusing the same descriptors. All of it goes in one
        message: a notification is served before qtest answers it, so each
        batch is complete before the next one is made available, and used
        idx is read after the last."""
        lines = []
        for _ in range(times):
            self.avail_idx = (self.avail_idx + n) & 0xffff
            lines += ['writew 0x%x 0x%x' % (self.avail + 2, self.avail_idx),
                      'writew 0x%x 0x0' % self.notify]
        self.used_idx = (self.used_idx + n * times) & 0xffff
        used = self.q.cmds(lines + ['readw 0x%x' % (self.used + 2)])[-1]
        for _ in range(1000):
            if int(used[0], 16) == self.used_idx:
                return
            used = self.q.cmd('readw 0x%x' % (self.used + 2))
        raise RuntimeError('device did not complete the requests')

    def status(self, i):
        return self.q.rd('b', REQS + i * SLOT + 48)

    def config(self):
        """page_size_mask, input_range and probe_size (5.13.4)."""
        raw = self.q.read(self.device_cfg, 36)
        psm, start, end, _, _, probe_size = struct.unpack('<QQQIII', raw)
        return psm, (start, end), probe_size

    def probe(self, ep, size):
        """PROBE @ep (5.13.6.8): the status and the RESV_MEM properties,
        as (subtype, start, end)."""
        req = struct.pack('<B3xI64x', 5, ep)
        self.q.mem(self.desc, struct.pack('<QIHH', REQS, len(req), 1, 1) +
                   struct.pack('<QIHH', PROBE_BUF, size + 4, 2, 0))
        self.q.mem(self.avail + 4, struct.pack('<H', 0) * QSIZE)
        self.q.mem(REQS, req)
        self.q.mem(PROBE_BUF, bytes(size + 4))
        self.kick(1)
        blob = self.q.read(PROBE_BUF, size + 4)
        regions, off = [], 0
        while off + 4 <= size:
            ptype, plen = struct.unpack_from('<HH', blob, off)
            if ptype == 0:
                break
            if ptype == 1 and plen >= 20:
                start, end = struct.unpack_from('<QQ', blob, off + 8)
                regions.append((blob[off + 4], start, end))
            off += 4 + plen
        return blob[size], regions


def attach(domain, ep):
    return struct.pack('<B3xIII4x', 1, domain, ep, 0)


def map_req(domain, start, end, phys, flags=3):
    return struct.pack('<B3xIQQQI', 3, domain, start, end, phys, flags)


def unmap_req(domain, start, end):
    return struct.pack('<B3xIQQ4x', 4, domain, start, end)


def start(binary, fw):
    q = Qtest(binary, fw, [])
    viommu_fn = find(q, 0x1af4, 0x1057)
    edu_fn = find(q, 0x1234, 0x11e8)
    bars, nxt = map_bars(q, viommu_fn, BAR_BASE)
    edu_bars, _ = map_bars(q, edu_fn, nxt)
    v = VirtioIommu(q, viommu_fn, bars)
    v.init()
    return q, v, edu_fn, edu_bars[0]


def do_attach(v, ep):
    v.setup_slots([(20, attach(1, ep))])
    v.kick(1)
    if v.status(0) != 0:
        raise RuntimeError('ATTACH failed: %d' % v.status(0))


def bench_map_unmap(binary, fw, rounds, cpu=False):
    """MAP+UNMAP requests per second, or with @cpu QEMU's CPU time (user
    and system) per request in nanoseconds."""
    q, v, edu_fn, _ = start(binary, fw)
    do_attach(v, edu_fn)
    half = QSIZE // (2 if v.indirect else 4)    # MAPs, then as many UNMAPs
    reqs = [(36, map_req(1, i << 12, (i << 12) | 0xfff, EDU_BUF + (i << 12)))
            for i in range(half)]
    reqs += [(28, unmap_req(1, i << 12, (i << 12) | 0xfff)) for i in range(half)]
    v.setup_slots(reqs)
    v.kick(len(reqs))
    if any(v.status(i) for i in range(len(reqs))):
        raise RuntimeError('MAP/UNMAP failed')
    per_message = 32                # kicks per qtest message
    cpu0, t0 = q.cpu_seconds(), time.perf_counter()
    for _ in range(rounds // per_message):
        v.kick(len(reqs), per_message)
    dt, used = time.perf_counter() - t0, q.cpu_seconds() - cpu0
    # the device still writes every status: spoil them, run once more
    for i in range(len(reqs)):
        q.wr('b', REQS + i * SLOT + 48, 0xff)
    v.kick(len(reqs))
    if any(v.status(i) for i in range(len(reqs))):
        raise RuntimeError('MAP/UNMAP failed')
    q.close()
    n = rounds // per_message * per_message * len(reqs)
    return used * 1e9 / n if cpu else n / dt


def bench_dma(binary, fw, count):
    q, v, edu_fn, edu = start(binary, fw)
    do_attach(v, edu_fn)
    # 1 MiB of IOVA mapped onto guest RAM holding a pattern (edu: 28-bit DMA)
    pattern = bytes(range(256)) * 16
    q.mem(EDU_BUF, pattern)
    v.setup_slots([(36, map_req(1, 0x100000, 0x1fffff, EDU_BUF))])
    v.kick(1)
    if v.status(0):
        raise RuntimeError('MAP failed')
    # one transfer: source IOVA, edu's buffer, length, start (RAM to
    # device), and the 100 ms of virtual time edu takes; sent as one message
    transfer = ['writeq 0x%x 0x100000' % (edu + 0x80),
                'writeq 0x%x 0x40000' % (edu + 0x88),
                'writeq 0x%x 0x1000' % (edu + 0x90),
                'writeq 0x%x 0x1' % (edu + 0x98),
                'clock_step 100000000']
    t0 = time.perf_counter()
    for i in range(count):
        q.cmds(transfer)
    dt = time.perf_counter() - t0
    # read the buffer back to the same IOVA page: data must be intact
    q.wr('q', edu + 0x80, 0x40000)
    q.wr('q', edu + 0x88, 0x101000)
    q.wr('q', edu + 0x90, 4096)
    q.wr('q', edu + 0x98, 3)
    q.cmd('clock_step 100000000')
    back = q.cmd('b64read 0x%x 0x1000' % (EDU_BUF + 0x1000))[0]
    q.close()
    if base64.b64decode(back) != pattern:
        raise RuntimeError('edu DMA data mismatch')
    return count / dt


def bench_memory(binary, fw, n):
    q, v, edu_fn, _ = start(binary, fw)
    do_attach(v, edu_fn)
    per_kick = QSIZE if v.indirect else QSIZE // 2
    v.setup_slots([(36, map_req(1, 0, 0xfff, 0))] * per_kick)
    iova = 0x10000000
    done = 0
    # let start-up allocations settle (and the first node chunk exist)
    # before sampling the baseline
    v.kick(1)
    time.sleep(1)
    before = q.rss()
    while done < n:
        k = min(per_kick, n - done)
        v.write_slots([map_req(1, iova + (i << 12), iova + (i << 12) + 0xfff,
                               EDU_BUF) for i in range(k)])
        v.kick(per_kick if k == per_kick else k)
        iova += k << 12
        done += k
    if v.status(0):
        raise RuntimeError('MAP failed')
    after = q.rss()
    q.close()
    return (after - before) / n


def main():
    binary, fw, test = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    if test == 'map-unmap':
        print('%.0f' % bench_map_unmap(binary, fw, n or 2000))
    elif test == 'map-unmap-cpu':
        print('%.0f' % bench_map_unmap(binary, fw, n or 8000, cpu=True))
    elif test == 'dma':
        print('%.0f' % bench_dma(binary, fw, n or 5000))
    elif test == 'memory':
        print('%.1f' % bench_memory(binary, fw, n or 100000))
    else:
        sys.exit('unknown test ' + test)


if __name__ == '__main__':
    main()
