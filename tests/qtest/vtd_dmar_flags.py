#!/usr/bin/env python3
"""intel-iommu's DMAR flags by property, read as firmware reads the table:
from fw_cfg's etc/acpi/tables, over qtest on q35.

- no property: flags INTR_REMAP only (with intremap=on), as upstream's;
- x2apic-opt-out=on: X2APIC_OPT_OUT (bit 1) too;
- platform-opt-in=on: DMA_CTRL_PLATFORM_OPT_IN (bit 2) too;
(the checksum is firmware's to fill in, by the linker-loader's commands;
bios-tables-test compares the table without properties with upstream's).

Usage: vtd_dmar_flags.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
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


def dmar(binary, fw, opts):
    q = qv.Qtest(binary, fw, [], devices=['-device', 'intel-iommu,' + opts],
                 machine='q35')
    blob = fw_cfg_file(q, 'etc/acpi/tables')
    q.close()
    at = blob.find(b'DMAR')
    length = struct.unpack_from('<I', blob, at + 4)[0]
    return blob[at:at + length]


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    for opts, flags in (('intremap=on', 1),
                        ('intremap=on,x2apic-opt-out=on', 3),
                        ('intremap=on,platform-opt-in=on', 5),
                        ('intremap=on,x2apic-opt-out=on,platform-opt-in=on', 7),
                        ('intremap=off,platform-opt-in=on', 4)):
        t = dmar(binary, fw, opts)
        check('%s: DMAR flags 0x%x' % (opts, flags),
              len(t) > 48 and t[37] == flags,
              'flags 0x%x, length %d' % (t[37] if len(t) > 37 else -1, len(t)))
    return summary('vtd_dmar_flags')


if __name__ == '__main__':
    sys.exit(main())
