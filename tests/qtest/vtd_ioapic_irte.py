#!/usr/bin/env python3
"""IOAPIC interrupts through our intel-iommu's interrupt remapping, over
qtest on q35 (README, "Deviations").

A guest may program an IOAPIC pin's IRTE with SVT=1 (verify the full
source ID) and the SID of the PCI device wired to that pin rather than
the IOAPIC's own (the DMAR scope's). Hardware would block such a request;
stock QEMU delivers it, because its IOAPIC sends without a requester ID,
and so do we: no device can send as QEMU's IOAPIC. What we check, as the
guest would see it: the vector lands in the local APIC's IRR and no fault
is recorded, whatever FPD says; the IRTE with the IOAPIC's own SID works
too; a PCI device's MSI through an IRTE naming another SID is still
blocked, with a fault record naming the device (reason 0x26); and an
IOAPIC IRTE with the reserved SVT 11b is a fault (0x24), as for any
requester: only the SID check is skipped.

Usage: vtd_ioapic_irte.py QEMU_BINARY FIRMWARE_DIR
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '../../scripts/bench'))
import qtest_viommu as qv  # noqa: E402
from checks import check, summary  # noqa: E402

VTD = 0xfed90000
GCMD, GSTS, FSTS, IRTA, FRCD = 0x18, 0x1c, 0x34, 0xb8, 0x220
SIRTP, IRE = 1 << 24, 1 << 25
PPF = 1 << 1
IOAPIC = 0xfec00000
IOAPIC_SID = 0xf0f8             # DMAR's IOAPIC scope: 00f0:1f.0
IRT = 0x200000
EDU_BAR = 0xe0000000
PIN = 10


def irte(vector, sid, svt=1, fpd=False):
    """A present IRTE: fixed, physical, to APIC 0; SQ 0."""
    return struct.pack('<QQ', 1 | fpd << 1 | vector << 16, sid | svt << 18)


class Machine:
    def __init__(self, binary, fw):
        self.dir = tempfile.mkdtemp()
        path = os.path.join(self.dir, 'qmp.sock')
        self.q = qv.Qtest(binary, fw, ['-qmp', 'unix:%s,server=on,wait=off'
                                       % path],
                          machine='q35,kernel-irqchip=split',
                          devices=('-device', 'intel-iommu,intremap=on',
                                   '-device', 'edu'))
        self.qmp = qv.Qmp(path)
        self.edu_fn = qv.find(self.q, 0x1234, 0x11e8)
        bars, _ = qv.map_bars(self.q, self.edu_fn, EDU_BAR)
        self.edu = bars[0]
        self.q.mem(IRT, bytes(4096))
        self.q.wr('q', VTD + IRTA, IRT | 7)            # 256 entries
        self.q.wr('l', VTD + GCMD, SIRTP)
        self.q.wr('l', VTD + GCMD, IRE)

    def irr(self):
        return self.qmp.lapic_irr()

    def ioapic_pin(self, index, vector):
        """Pin PIN in remappable format, edge, IRTE INDEX; raises it once."""
        q = self.q
        for reg, val in ((0x10 + 2 * PIN, vector),
                         (0x11 + 2 * PIN, index << 17 | 1 << 16)):
            q.wr('l', IOAPIC, reg)
            q.wr('l', IOAPIC + 0x10, val)
        q.cmd('set_irq_in /machine/q35/ioapic unnamed-gpio-in %d 1' % PIN)
        q.cmd('set_irq_in /machine/q35/ioapic unnamed-gpio-in %d 0' % PIN)

    def edu_msi(self, index):
        """edu's MSI in remappable format with handle INDEX, raised once."""
        q, fn = self.q, self.edu_fn
        msi = qv.find_cap(q, fn, 0x05)
        ctl = qv.cfg_read(q, fn, msi + 2, 2)
        qv.cfg_write(q, fn, msi + 4, 4, 0xfee00000 | index << 5 | 1 << 4)
        qv.cfg_write(q, fn, msi + (0xc if ctl & 0x80 else 0x8), 2, 0)
        qv.cfg_write(q, fn, msi + 2, 2, ctl | 1)
        q.cmds(['writel 0x%x 0x1' % (self.edu + 0x60),    # raise
                'writel 0x%x 0x1' % (self.edu + 0x64)])   # acknowledge

    def faults(self):
        return self.q.rd('l', VTD + FSTS) & PPF

    def close(self):
        self.q.close()


def main():
    binary, fw = sys.argv[1], sys.argv[2]
    m = Machine(binary, fw)
    check('interrupt remapping enabled', m.q.rd('l', VTD + GSTS) & IRE)
    cases = (
        ('SVT=1 naming the IOAPIC', 1, IOAPIC_SID, False, 0x51),
        ('SVT=1 naming the PCI device on the pin, FPD set', 2, m.edu_fn,
         True, 0x52),
        ('SVT=1 naming the PCI device on the pin, FPD clear', 3, m.edu_fn,
         False, 0x53),
    )
    for name, index, sid, fpd, vector in cases:
        m.q.mem(IRT + 16 * index, irte(vector, sid, fpd=fpd))
        m.ioapic_pin(index, vector)
        check('IOAPIC interrupt, IRTE %s: vector 0x%x pending, no fault'
              % (name, vector), vector in m.irr() and not m.faults(),
              str(m.irr()))
    # a PCI MSI keeps full verification: an IRTE for the IOAPIC's SID
    m.q.mem(IRT + 16 * 4, irte(0x54, IOAPIC_SID))
    m.edu_msi(4)
    rec = m.q.rd('q', VTD + FRCD + 8)
    check('PCI MSI through an IRTE naming the IOAPIC: blocked, fault 0x26 '
          'from edu', 0x54 not in m.irr() and m.faults() and
          (rec & 0xffff) == m.edu_fn and (rec >> 32) & 0xff == 0x26 and
          (rec >> 63) & 1, hex(rec))
    # the IOAPIC's requests skip the SID check only: SVT 11b is reserved
    m.q.wr('l', VTD + FSTS, PPF)                # (record 0 is still F)
    m.q.mem(IRT + 16 * 5, irte(0x55, IOAPIC_SID, svt=3))
    m.ioapic_pin(5, 0x55)
    rec = m.q.rd('q', VTD + FRCD + 16 + 8)
    check('IOAPIC interrupt, IRTE with SVT 11b (reserved): blocked, '
          'fault 0x24', 0x55 not in m.irr() and
          (rec >> 32) & 0xff == 0x24 and (rec >> 63) & 1, hex(rec))
    m.close()
    return summary('vtd_ioapic_irte')


if __name__ == '__main__':
    sys.exit(main())
