#!/usr/bin/env python3
"""A hostile driver against our virtio-iommu's request ring.

The request queue is served by our own split ring code
(hw/viommu/vring-split.c), so these are the cases virtio.c used to catch
for us. Each makes the ring wrong in one way and checks what a user of
QEMU would: QEMU keeps running, the device reports NEEDS_RESET (virtio 1.3,
2.1.2) or resets, no request after the fault runs, and after the driver
resets the device it works again.

Usage: hostile_ring.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys

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
    sys.exit(summary('hostile_ring'))


if __name__ == '__main__':
    main()
