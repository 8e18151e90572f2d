#!/usr/bin/env python3
"""amd-iommu's southbridge function and the IOAPIC's DeviceID (ioapic-id,
southbridge), over qtest on q35, as a guest and its firmware see them:

- by default, 00:14.0 is amd-iommu-southbridge: 1b36:00ff, class SMBus
  (0c05), subsystem 1af4:1100, no BAR; the IVRS names 00:14.0 as the
  IOAPIC's DeviceID (special entry, variety 1) in every IVHD;
- ioapic-id=15.0 moves both: the function to 00:15.0, nothing at 00:14.0,
  the IVRS's IOAPIC entry to 00:15.0;
- southbridge=off: no function, the IVRS keeps the DeviceID, and QEMU warns
  that 7.3 guests will turn interrupt remapping off;
- refused with a message naming the way out: 00:14.0 taken by a device
  given before amd-iommu (one given after is refused by PCI, the slot
  "in use by amd-iommu-southbridge"), a malformed ioapic-id (naming the allowed ranges), a function
  other than 0 or a bus other than 0 with the southbridge function on.

Usage: amd_southbridge.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402
from vtd_dmar_flags import fw_cfg_file  # noqa: E402

IVHD_TYPES = (0x10, 0x11, 0x40)
SPECIAL, IOAPIC = 0x48, 1


def ioapic_ids(ivrs):
    """The IOAPIC special entries' DeviceIDs, one per IVHD, in table order."""
    out, at = [], 48
    while at + 4 <= len(ivrs):
        kind, length = ivrs[at], struct.unpack_from('<H', ivrs, at + 2)[0]
        if length < 4:
            break
        if kind in IVHD_TYPES:
            e = at + (24 if kind == 0x10 else 40)
            while e < at + length:
                t = ivrs[e]
                if t == SPECIAL and ivrs[e + 7] == IOAPIC:
                    out.append(struct.unpack_from('<H', ivrs, e + 5)[0])
                e += 4 if t < 0x40 else 8 if t < 0x80 else 4 + ivrs[e + 1]
        at += length
    return out


def boot(binary, fw, opts):
    q = qv.Qtest(binary, fw, [], machine='q35',
                 devices=['-device', 'amd-iommu,intremap=on' + opts])
    blob = fw_cfg_file(q, 'etc/acpi/tables')
    at = blob.find(b'IVRS')
    ivrs = blob[at:at + struct.unpack_from('<I', blob, at + 4)[0]]
    return q, ivrs


def function(q, devfn):
    """(vendor:device, class, subsystem, BAR0) at 00:devfn; None if empty."""
    ids = qv.cfg_read(q, devfn, 0, 4)
    if ids == 0xffffffff:
        return None
    return ('%04x:%04x' % (ids & 0xffff, ids >> 16),
            '%04x' % qv.cfg_read(q, devfn, 0x0a, 2),
            '%04x:%04x' % (qv.cfg_read(q, devfn, 0x2c, 2),
                           qv.cfg_read(q, devfn, 0x2e, 2)),
            qv.cfg_read(q, devfn, 0x10, 4))


def refused(binary, fw, opts, more=(), before=()):
    """QEMU's exit status and stderr for a configuration it must refuse
    (or a warning for one it accepts: it runs -S and is told to quit)."""
    try:
        p = subprocess.run([binary, '-L', fw, '-M', 'q35,kernel-irqchip=split',
                            '-accel', 'qtest', '-display', 'none',
                            '-nodefaults', '-S', '-qmp', 'stdio'] +
                           list(before) +
                           ['-device', 'amd-iommu,intremap=on' + opts] +
                           list(more), capture_output=True, text=True,
                           timeout=20,
                           input='{"execute":"qmp_capabilities"}\n'
                                 '{"execute":"quit"}\n')
    except subprocess.TimeoutExpired:
        return None, 'still running'
    return p.returncode, p.stderr.strip()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    sb = ('1b36:00ff', '0c05', '1af4:1100', 0)

    q, ivrs = boot(binary, fw, '')
    got = function(q, 0x14 << 3)
    q.close()
    check('default: 00:14.0 is the southbridge function', got == sb, str(got))
    ids = ioapic_ids(ivrs)
    check('default: every IVHD names 00:14.0 as the IOAPIC',
          len(ids) >= 2 and set(ids) == {0x00a0}, str(ids))

    q, ivrs = boot(binary, fw, ',ioapic-id=15.0')
    got, old = function(q, 0x15 << 3), function(q, 0x14 << 3)
    q.close()
    check('ioapic-id=15.0: the function at 00:15.0, nothing at 00:14.0',
          got == sb and old is None, '%s, %s' % (got, old))
    ids = ioapic_ids(ivrs)
    check('ioapic-id=15.0: the IVRS names 00:15.0',
          len(ids) >= 2 and set(ids) == {0x00a8}, str(ids))

    q, ivrs = boot(binary, fw, ',southbridge=off')
    got = function(q, 0x14 << 3)
    q.close()
    ids = ioapic_ids(ivrs)
    check('southbridge=off: no function, the IVRS keeps 00:14.0',
          got is None and set(ids) == {0x00a0}, '%s, %s' % (got, ids))
    code, msg = refused(binary, fw, ',southbridge=off')
    check('southbridge=off: a warning about 7.3 guests',
          code == 0 and 'names no SMBus or ISA-bridge function' in msg, msg)
    code, msg = refused(binary, fw, ',southbridge=off,ioapic-id=1f.0')
    check('southbridge=off, ioapic-id naming the ICH9 LPC: no warning',
          code == 0 and 'warning' not in msg, msg)

    code, msg = refused(binary, fw, '', before=['-device', 'e1000,addr=14.0'])
    check('00:14.0 taken: refused, naming ioapic-id and southbridge=off',
          code == 1 and 'is taken by e1000' in msg and
          'ioapic-id=DD.F' in msg and 'southbridge=off' in msg, msg)
    code, msg = refused(binary, fw, '', ['-device', 'e1000,addr=14.0'])
    check('00:14.0 asked for after amd-iommu: refused by PCI',
          code == 1 and 'in use by amd-iommu-southbridge' in msg, msg)
    for bad in ('0x14.0', '20.0', '14.8', '100:14.0', '14', ''):
        code, msg = refused(binary, fw, ',ioapic-id=' + bad)
        check('ioapic-id=%s refused with the allowed ranges' % bad,
              code == 1 and 'device 00-1f, function 0-7' in msg, msg)
    for bad in ('14.1', '01:14.0'):
        code, msg = refused(binary, fw, ',ioapic-id=' + bad)
        check('ioapic-id=%s refused with the southbridge function on' % bad,
              code == 1 and 'must name function 0 of a slot on bus 0' in msg
              and 'southbridge=off' in msg, msg)
    return summary('amd_southbridge')


if __name__ == '__main__':
    sys.exit(main())
