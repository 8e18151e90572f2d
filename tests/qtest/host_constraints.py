#!/usr/bin/env python3
"""The host IOMMU's constraints of an assigned device, as the guest sees them.

QEMU's HostIOMMUDevice tells a vIOMMU the page sizes and IOVA ranges of the
host IOMMU behind a VFIO device. The real thing is tested end to end by
tests/functional/test_x86_64_viommu_vfio_relay.py, but no x86 host here has an IOMMU whose
smallest page is larger than 4 KiB; x-host-iommu-stub (hw/misc) stands for
such a device. Checked here, through the virtio-iommu's own interfaces:
  - granule=host grows to the host's page when the device is cold-plugged,
    and PROBE reserves what the host cannot map;
  - functions behind a PCI bridge share its requester ID, whose endpoint
    honours every one's host;
  - a fixed granule smaller than the host's page: QEMU refuses to start,
    with an error naming the sizes; a larger one is kept;
  - hot-plug once the driver has started: refused with an error naming
    the sizes, QEMU keeps running; accepted after a system reset.

Usage: host_constraints.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

STUB = 'x-host-iommu-stub'



def driver(q):
    """Our virtio-iommu set up as a driver would (status DRIVER_OK)."""
    fn = qv.find(q, 0x1af4, 0x1057)
    bars, _ = qv.map_bars(q, fn, qv.BAR_BASE)
    v = qv.VirtioIommu(q, fn, bars)
    v.init()
    return v


def granule(v):
    psm = v.config()[0]
    return psm & -psm


def start(binary, fw, iommu, *more):
    devices = ['-device', iommu]
    for d in more:
        devices += ['-device', d]
    return qv.Qtest(binary, fw, [], devices)


def cold_plug(binary, fw):
    q = start(binary, fw, 'virtio-iommu-pci',
              STUB + ',page-size=64k,iova-end=0x7fffffffff,addr=05.0')
    v = driver(q)
    check('cold-plug: granule=host grows to the host page',
          granule(v) == 65536, '%d' % granule(v))
    size = v.config()[2]
    st, regions = v.probe(5 << 3, size)
    check('cold-plug: PROBE reserves what the host cannot map',
          st == 0 and (0, 1 << 39, (1 << 64) - 1) in regions,
          'status %d %s' % (st, ['%d:0x%x-0x%x' % r for r in regions]))
    q.close()


def behind_bridge(binary, fw):
    """Two assigned functions behind a PCI bridge DMA with the bridge's
    requester ID: that endpoint honours both hosts' ranges."""
    q = start(binary, fw, 'virtio-iommu-pci',
              'pci-bridge,id=br0,chassis_nr=1,addr=05.0',
              STUB + ',bus=br0,addr=01.0,iova-end=0xffffffff',
              STUB + ',bus=br0,addr=02.0,iova-end=0x7fffffffff')
    v = driver(q)
    st, regions = v.probe(5 << 3, v.config()[2])
    check('behind a bridge: PROBE of the bridge has both hosts\' holes',
          st == 0 and regions == [(1, 0xfee00000, 0xfeefffff),
                                  (0, 1 << 32, (1 << 64) - 1)],
          'status %d %s' % (st, ['%d:0x%x-0x%x' % r for r in regions]))
    v.setup_slots([(20, qv.attach(1, 5 << 3))])
    v.kick(1)
    v.setup_slots([(36, qv.map_req(1, 1 << 32, (1 << 32) + 0xfff, 0))])
    v.kick(1)
    check('behind a bridge: MAP beyond the smaller host refused',
          v.status(0) == 4, 'status %d' % v.status(0))
    q.close()


def fixed_granule(binary, fw):
    r = subprocess.run(
        [binary, '-L', fw, '-M', 'pc', '-accel', 'qtest', '-nodefaults',
         '-display', 'none', '-device', 'virtio-iommu-pci,granule=4k',
         '-device', STUB + ',page-size=64k,id=hostdev0'],
        capture_output=True, text=True, timeout=60)
    want = ('virtio-iommu: hostdev0: its host IOMMU maps pages of 64 KiB or '
            'more, but granule is 4 KiB; set granule to host or to at least '
            '64 KiB')
    check('granule=4k, host pages 64k: refused', r.returncode == 1 and
          want in r.stderr, 'exit %d: %s' % (r.returncode, r.stderr.strip()))
    q = start(binary, fw, 'virtio-iommu-pci,granule=64k',
              STUB + ',page-size=16k')
    check('granule=64k, host pages 16k: kept', granule(driver(q)) == 65536)
    q.close()


def hot_plug(binary, fw):
    path = os.path.join(qv.tempfile.mkdtemp(), 'qmp.sock')
    q = qv.Qtest(binary, fw, ['-qmp', 'unix:%s,server=on,wait=off' % path],
                 ['-device', 'virtio-iommu-pci'])
    qmp = qv.Qmp(path)
    v = driver(q)
    r = qmp.cmd('device_add', driver=STUB, id='hp0', addr='06.0',
                **{'page-size': 65536})
    err = r.get('error', {}).get('desc', '')
    check('hot-plug after the driver started: refused',
          'already uses a granule of 4 KiB' in err, err)
    check('hot-plug refused: QEMU still answers',
          q.cmd('endianness')[0] == 'little' and
          qmp.cmd('query-status')['return']['status'] == 'running')
    r = qmp.cmd('device_add', driver=STUB, id='hp1', addr='07.0')
    check('hot-plug with host pages of 4k: accepted', 'return' in r, str(r))
    check('granule unchanged', granule(v) == 4096)
    qmp.cmd('system_reset')
    time.sleep(1)
    r = qmp.cmd('device_add', driver=STUB, id='hp2', addr='08.0',
                **{'page-size': 65536})
    check('hot-plug after a system reset: accepted', 'return' in r, str(r))
    check('granule grew to 64k', granule(driver(q)) == 65536)
    q.close()


def reentry(binary, fw):
    """The lock rule: a notifier that translates through the IOMMU again,
    from inside the MAP notification (as a notifier may), finds
    the device lock free; with it held, QEMU would deadlock here."""
    q = start(binary, fw, 'virtio-iommu-pci',
              STUB + ',notifier=on,reenter=on,addr=05.0')
    q.sock.settimeout(60)
    v = driver(q)
    stub = 5 << 3
    bars, _ = qv.map_bars(q, stub, 0xd0000000)
    v.setup_slots([(20, qv.attach(1, stub))])
    v.kick(1)
    v.setup_slots([(36, qv.map_req(1, 0x10000, 0x1ffff, qv.EDU_BUF))])
    name = ('lock rule: a MAP notifier re-entering translate() finds the '
            'mapping, no deadlock')
    try:
        v.kick(1)
    except OSError:
        check(name, False, 'QEMU did not answer within 60 s')
        q.proc.kill()
        return
    maps, agreed = q.rd('q', bars[0]), q.rd('q', bars[0] + 0x20)
    check(name, v.status(0) == 0 and maps == 1 and agreed == 1,
          'status %d, %d MAPs, %d agreed' % (v.status(0), maps, agreed))
    q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    cold_plug(binary, fw)
    reentry(binary, fw)
    behind_bridge(binary, fw)
    fixed_granule(binary, fw)
    hot_plug(binary, fw)
    return summary('host constraints')


if __name__ == '__main__':
    sys.exit(main())
