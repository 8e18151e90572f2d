#!/usr/bin/env python3
"""intel-iommu's DMAR options by property, read as firmware reads the
table: from fw_cfg's etc/acpi/tables, over qtest on q35.

- no property: flags INTR_REMAP only (with intremap=on), as upstream's;
- x2apic-opt-out=on: X2APIC_OPT_OUT (bit 1) too;
- platform-opt-in=on: DMA_CTRL_PLATFORM_OPT_IN (bit 2) too;
- x-flts with a MAP notifier (VFIO's kind, x-host-iommu-stub,notifier=on)
  refused at start-up: Linux 6.13+ maps first-stage tables without an
  invalidation a relay could follow;
- dma-translation=off: bit 3 too, which Linux 7.3 reads as "DMA remapping
  forced off" (DMAR_REMAP_OPT_OUT);
- device-iotlb=on: an ATSR; in scalable mode a SATC of the root-bus
  devices with ATS, none when QEMU's ATS devices sit behind root ports;
- rmrr=BASE-LIMIT:ID[:ID...]: an RMRR with the devices' scopes, after the
  DRHD, and the range reserved in fw_cfg's etc/e820; a malformed value or
  an id that is no PCI device is refused with a message naming "rmrr";
(the checksum is firmware's to fill in, by the linker-loader's commands;
bios-tables-test compares the table without properties with upstream's).

Usage: vtd_dmar_flags.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

FW_CFG_SEL, FW_CFG_DATA, FW_CFG_FILE_DIR = 0x510, 0x511, 0x19


def fw_cfg_read(q, key, size):
    q.cmd('outw 0x%x 0x%x' % (FW_CFG_SEL, key))
    out = b''
    while len(out) < size:      # in batches: the socket holds so much
        n = min(512, size - len(out))
        out += bytes(int(r[0], 16)
                     for r in q.cmds(['inb 0x%x' % FW_CFG_DATA] * n))
    return out


def fw_cfg_file(q, name):
    count = struct.unpack('>I', fw_cfg_read(q, FW_CFG_FILE_DIR, 4))[0]
    entries = fw_cfg_read(q, FW_CFG_FILE_DIR, 4 + 64 * count)[4:]
    for i in range(count):
        size, key = struct.unpack_from('>IH', entries, 64 * i)
        if entries[64 * i + 8:64 * i + 64].rstrip(b'\0').decode() == name:
            return fw_cfg_read(q, key, size)
    raise RuntimeError('no %s in fw_cfg' % name)


def dmar(binary, fw, opts, more=(), e820=False):
    q = qv.Qtest(binary, fw, [], machine='q35',
                 devices=['-device', 'intel-iommu,' + opts] + list(more))
    blob = fw_cfg_file(q, 'etc/acpi/tables')
    table = fw_cfg_file(q, 'etc/e820') if e820 else b''
    q.close()
    at = blob.find(b'DMAR')
    length = struct.unpack_from('<I', blob, at + 4)[0]
    if e820:
        return blob[at:at + length], [struct.unpack_from('<QQI', table, i)
                                      for i in range(0, len(table), 20)]
    return blob[at:at + length]


def structures(t):
    """The DMAR's remapping structures: (type, bytes), in table order."""
    out, at = [], 48
    while at + 4 <= len(t):
        kind, length = struct.unpack_from('<HH', t, at)
        if length < 4:
            break
        out.append((kind, t[at:at + length]))
        at += length
    return out


def refused(binary, fw, opts, more=()):
    """QEMU's exit status and message for a configuration it must refuse."""
    try:
        p = subprocess.run([binary, '-L', fw, '-M', 'q35', '-accel', 'qtest',
                            '-display', 'none', '-nodefaults', '-S',
                            '-device', 'intel-iommu,' + opts] + list(more),
                           capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, 'still running: not refused'
    return p.returncode, p.stderr.strip()


def test_rmrr(binary, fw):
    base, limit = 0x1e000000, 0x1e0fffff
    t, e820 = dmar(binary, fw, 'intremap=on,rmrr=0x%x-0x%x:edu0;'
                   '0x1f000000-0x1f000fff:edu0:edu1' % (base, limit),
                   ['-device', 'edu,id=edu0,addr=0x5',
                    '-device', 'edu,id=edu1,addr=0x6.0x2'], e820=True)
    kinds = [k for k, _ in structures(t)]
    check('rmrr: DRHD, then two RMRRs', kinds == [0, 1, 1], str(kinds))
    rmrrs = [b for k, b in structures(t) if k == 1]
    first = struct.unpack_from('<QQ', rmrrs[0], 8) if rmrrs else None
    check('rmrr: the first covers the range, scope edu0 at 00:05.0',
          first == (base, limit) and len(rmrrs[0]) == 32 and
          rmrrs[0][24:32] == bytes([1, 8, 0, 0, 0, 0, 5, 0]),
          rmrrs[0].hex() if rmrrs else None)
    check('rmrr: the second has both devices (00:06.2 the second)',
          len(rmrrs) == 2 and len(rmrrs[1]) == 40 and
          rmrrs[1][38:40] == bytes([6, 2]),
          rmrrs[1].hex() if len(rmrrs) > 1 else None)
    check('rmrr: E820 reserves the range, as firmware would',
          (base, limit - base + 1, 2) in e820, str(e820))
    for opts, why in (('rmrr=0x1e000001-0x1e0fffff:edu0', 'not 4 KiB aligned'),
                      ('rmrr=0x1e000000-0x1e0fffff', 'no device id'),
                      ('rmrr=0x1e000000:edu0', 'not BASE-LIMIT'),
                      ('rmrr=x', 'not BASE-LIMIT'),
                      ('rmrr=0x1e000000-0x1e0fffff:edu0:edu0',
                       'a device id named twice'),
                      ('rmrr=0x1e000000-0x1e0fffff' + ':edu0' * 8189,
                       'more devices than an RMRR holds'),
                      ('rmrr=0x1e000000-0x1e0fffff:nosuch',
                       "'nosuch', which is not the id of a PCI device")):
        code, msg = refused(binary, fw, 'intremap=on,' + opts,
                            ['-device', 'edu,id=edu0'])
        check('%s refused: %s' % (opts, why),
              code not in (None, 0) and 'rmrr' in msg and why in msg, msg)
    code, msg = refused(binary, fw, 'intremap=on,rmrr=0x1e000000-0x1e0fffff:'
                        'edu0', ['-device', 'pcie-pci-bridge,id=br0',
                                 '-device', 'edu,id=edu0,bus=br0,addr=1'])
    check('rmrr naming a device behind a bridge refused',
          code not in (None, 0) and 'behind a bridge' in msg, msg)


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    for opts, flags in (('intremap=on', 1),
                        ('intremap=on,x2apic-opt-out=on', 3),
                        ('intremap=on,platform-opt-in=on', 5),
                        ('intremap=on,x2apic-opt-out=on,platform-opt-in=on', 7),
                        ('intremap=off,platform-opt-in=on', 4),
                        ('intremap=on,dma-translation=off', 9)):
        t = dmar(binary, fw, opts)
        check('%s: DMAR flags 0x%x' % (opts, flags),
              len(t) > 48 and t[37] == flags,
              'flags 0x%x, length %d' % (t[37] if len(t) > 37 else -1, len(t)))
    test_rmrr(binary, fw)
    # the SATC lists root-bus devices with ATS; QEMU's ATS devices (virtio
    # behind a root port) are the ATSR's: DRHD and ATSR, no SATC
    t = dmar(binary, fw, 'intremap=on,device-iotlb=on,x-scalable-mode=on',
             ['-device', 'pcie-root-port,id=rp0,chassis=1',
              '-device', 'virtio-rng-pci,bus=rp0,ats=on,disable-legacy=on',
              '-device', 'virtio-rng-pci,ats=on,disable-legacy=on'])
    kinds = [k for k, _ in structures(t)]
    check('device-iotlb, scalable mode, ATS behind a root port: DRHD and '
          'ATSR, no SATC', kinds == [0, 2], str(kinds))
    code, msg = refused(binary, fw, 'x-scalable-mode=on,x-flts=on,'
                        'caching-mode=on,aw-bits=48',
                        ['-device', 'x-host-iommu-stub,notifier=on'])
    check('x-flts with a MAP notifier refused at start-up',
          code == 1 and 'x-flts (flts) cannot be used with VFIO' in msg, msg)
    return summary('vtd_dmar_flags')


if __name__ == '__main__':
    sys.exit(main())
