#!/usr/bin/env python3
"""A hostile driver against our virtio-iommu: its request ring, and a
bridge unplugged under its endpoints.

The request queue is served by our own split ring code
(hw/viommu/vring-split.c), so these are the cases virtio.c used to catch
for us. Each makes the ring wrong in one way and checks what a user of
QEMU would: QEMU keeps running, the device reports NEEDS_RESET (virtio 1.3,
2.1.2) or resets, no request after the fault runs, and after the driver
resets the device it works again.

Then the guest powers off the slot of a bridge with an attached, mapped
endpoint behind it, and keeps naming endpoints in requests and asking
query-viommu: nothing reads the freed bridge, no endpoint has its bus.

Usage: hostile_ring.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
NEEDS_RESET = 0x40
STATUS = 0x14               # device_status in the common configuration
TABLE = 0x150000            # an indirect table of this test's own
UNASSIGNED = 0x40000000     # above the 512 MiB of RAM: nothing there



def desc(addr, length, flags=0, nxt=0):
    return struct.pack('<QIHH', addr, length, flags, nxt)


def slot(i):
    return qv.REQS + i * qv.SLOT


def submit(q, v, heads, descs, avail_step=None):
    """Lays out @descs, makes @heads available (or moves avail idx by
    @avail_step) and notifies, the way a driver would, in one message."""
    q.mem(qv.DESC, b''.join(descs))
    q.mem(qv.AVAIL + 4, b''.join(struct.pack('<H', h) for h in heads))
    step = len(heads) if avail_step is None else avail_step
    v.avail_idx = (v.avail_idx + step) & 0xffff
    q.cmds(['writew 0x%x 0x%x' % (qv.AVAIL + 2, v.avail_idx),
            'writew 0x%x 0x0' % v.notify])


def fresh(binary, fw):
    q, v, edu_fn, _ = qv.start(binary, fw)
    return q, v, edu_fn


def reset_and_attach(q, v, ep):
    """The driver's way out: reset, set up again, ATTACH: status OK."""
    v.init()
    v.avail_idx = v.used_idx = 0
    v.setup_slots([(20, qv.attach(1, ep))])
    q.wr('b', slot(0) + 48, 0xff)
    v.kick(1)
    return v.status(0)


def broken_case(binary, fw, name, build):
    """@build(q, v, ep) lays out a bad ring whose first request is an
    ATTACH in slot 0 and whose second, a MAP in slot 1, must not run."""
    q, v, ep = fresh(binary, fw)
    q.mem(slot(0), qv.attach(1, ep))
    q.mem(slot(1), qv.map_req(1, 0, 0xfff, qv.EDU_BUF))
    q.wr('b', slot(0) + 48, 0xff)
    q.wr('b', slot(1) + 48, 0xff)
    build(q, v, ep)
    status = q.rd('b', v.common + STATUS)
    check(name + ': QEMU keeps running', q.cmd('readb 0x0') is not None)
    check(name + ': device needs a reset', status == 0 or
          status & NEEDS_RESET, 'device_status 0x%x' % status)
    check(name + ': the request after it did not run',
          q.rd('b', slot(1) + 48) == 0xff)
    st = reset_and_attach(q, v, ep)
    check(name + ': works again after a reset', st == 0, 'status %d' % st)
    q.close()


def pair(i, out_len=20, in_addr=None):
    """The two descriptors of a request in slot @i (chained)."""
    return [desc(slot(i), out_len, F_NEXT, 2 * i + 1),
            desc(in_addr if in_addr is not None else slot(i) + 48, 4,
                 F_WRITE)]


def avail_jump(q, v, ep):
    submit(q, v, [0, 2], pair(0) + pair(1, 36), avail_step=300)


def looped_chain(q, v, ep):
    submit(q, v, [0, 2], [desc(slot(0), 20, F_NEXT, 1),
                          desc(slot(0) + 48, 4, F_WRITE | F_NEXT, 0)] +
           pair(1, 36))


def nested_indirect(q, v, ep):
    q.mem(TABLE, desc(TABLE, 16, F_INDIRECT))
    submit(q, v, [0, 1], [desc(TABLE, 16, F_INDIRECT)] +
           [desc(slot(1), 36, F_NEXT, 2), desc(slot(1) + 48, 4, F_WRITE)])


def head_out_of_range(q, v, ep):
    submit(q, v, [qv.QSIZE + 5, 2], pair(0) + pair(1, 36))


def status_in_unassigned(q, v, ep):
    submit(q, v, [0, 2], pair(0, in_addr=UNASSIGNED) + pair(1, 36))


def status_on_own_registers(q, v, ep):
    """The tail of the first request lands on the device's own status
    register: 0 there is a reset (or, from inside the device's own I/O,
    a blocked access). Either way the second request must not run."""
    submit(q, v, [0, 2], pair(0, in_addr=v.common + STATUS) + pair(1, 36))


S_NOENT = 6
Q35_RP = 0x10               # the root port's devfn (slot 2)


def request(q, v, payload, in_len=4):
    """One request in slot 0 (a chain of two); its status."""
    q.mem(qv.DESC, desc(slot(0), len(payload), F_NEXT, 1) +
          desc(slot(0) + 48, in_len, F_WRITE))
    q.mem(qv.AVAIL + 4, struct.pack('<H', 0) * qv.QSIZE)
    q.mem(slot(0), payload)
    q.wr('b', slot(0) + 48, 0xff)
    v.kick(1)
    return v.status(0)


def test_bridge_unplug(binary, fw):
    """An edu behind a PCIe-to-PCI bridge on a root port, attached and
    mapped (endpoint 02:00.0: the bridge's secondary bus and devfn 0, as
    a PCIe-to-PCI bridge forwards its requests); the guest powers off the
    root port's slot (native hotplug), QEMU unplugs the bridge and frees
    its bus. Malloc perturbation makes a read of the freed bus crash."""
    qmp = os.path.join(tempfile.mkdtemp(), 'qmp.sock')
    os.environ['MALLOC_PERTURB_'] = '165'
    try:
        q = qv.Qtest(binary, fw, [
            '-global', 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
            '-device', 'pcie-root-port,id=rp1,chassis=1,slot=1,addr=0x2',
            '-device', 'pcie-pci-bridge,id=br1,bus=rp1',
            '-device', 'edu,bus=br1,addr=1',
            '-qmp', 'unix:%s,server=on,wait=off' % qmp],
            devices=('-device', 'virtio-iommu-pci'), machine='q35')
    finally:
        del os.environ['MALLOC_PERTURB_']
    qv.cfg_write(q, Q35_RP, 0x18, 4, 0x020100)  # buses 1..2 behind the port
    qv.cfg_write(q, 0, 0x18, 4, 0x020201, bus=1)    # bus 2 behind the bridge
    ep = 2 << 8
    fn = qv.find(q, 0x1af4, 0x1057)
    bars, _ = qv.map_bars(q, fn, qv.BAR_BASE)
    v = qv.VirtioIommu(q, fn, bars)
    v.init()
    st = request(q, v, qv.attach(1, ep))
    check('bridge: the endpoint behind it attaches', st == 0, 'status %d' % st)
    st = request(q, v, qv.map_req(1, 0, 0xfff, qv.EDU_BUF))
    check('bridge: and maps', st == 0, 'status %d' % st)
    slot_ctl = qv.find_cap(q, Q35_RP, 0x10) + 0x18
    qv.cfg_write(q, Q35_RP, slot_ctl, 2,
                 qv.cfg_read(q, Q35_RP, slot_ctl, 2) | 0x0400 | 0x0300)
    q.cmd('clock_step 100000000')
    gone = qv.cfg_read(q, 1 << 3, 0, 4, bus=2) == 0xffffffff
    check('bridge: unplugged by the guest', gone)
    statuses = set()
    for i in range(50):
        statuses.add(request(q, v, qv.attach(2, ep if i & 1 else i)))
        request(q, v, qv.unmap_req(1, 0, 0xfff))
        v.probe(ep, 512)
    info = qv.Qmp(qmp).cmd('query-viommu').get('return')
    alive = q.cmd('readb 0x0') is not None
    check('bridge: 50 rounds of ATTACH, UNMAP and PROBE naming endpoints, '
          'then query-viommu: QEMU keeps running', alive and info is not None)
    st = request(q, v, qv.attach(2, ep | 1 << 3))
    check('bridge: another ID on its bus is no endpoint (NOENT)',
          st == S_NOENT, 'status %d' % st)
    eps = [e['bdf'] for i in (info or []) for e in i.get('endpoints', [])]
    check('bridge: query-viommu no longer lists it', '02:00.0' not in eps,
          ' '.join(eps))
    q.close()


def main():
    binary, fw = sys.argv[1:3]
    broken_case(binary, fw, 'avail idx moved past the queue size',
                avail_jump)
    broken_case(binary, fw, 'descriptor chain loops', looped_chain)
    broken_case(binary, fw, 'indirect table inside an indirect table',
                nested_indirect)
    broken_case(binary, fw, 'chain head beyond the table', head_out_of_range)
    broken_case(binary, fw, 'status buffer in unassigned memory',
                status_in_unassigned)
    broken_case(binary, fw, 'status buffer on the device\'s own registers',
                status_on_own_registers)
    test_bridge_unplug(binary, fw)
    sys.exit(summary('hostile_ring'))


if __name__ == '__main__':
    main()
