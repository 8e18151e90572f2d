#!/usr/bin/env python3
#
# qemu-viommu: Debian's 6.12 kernel behind our amd-iommu (AMD-Vi) on q35,
# under TCG: strict, lazy and passthrough (iommu=pt); interrupt remapping
# on and off; x2APIC interrupt remapping (xtsup=on) with a vCPU whose APIC
# ID is above 255. Each asserts what the guest itself reports: the IVRS
# parsed, one IOMMU, interrupt remapping as its driver enabled it,
# virtio-blk and virtio-net in IOMMU groups of the expected type, 4 MiB
# written and read back intact (also in the host's image), a DHCP lease,
# and no IO_PAGE_FAULT on either side. Also a disk behind a PCIe-to-PCI
# bridge (its requests carry the bridge's alias), the IOMMU's function
# given with pci-id, and a device made to fault: the guest logs the
# IO_PAGE_FAULT event, through MSI and through INTCAPXT.
#
# SPDX-License-Identifier: GPL-2.0-or-later

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest, on_newest_kernel


class ViommuAmdGuest(ViommuGuestTest):

    def guest(self, iommu, append, group_type='DMA', intremap='xapic',
              blk_opts='', args=(), pre_args=()):
        self.require_accelerator('tcg')
        g = self.new_guest('guest', 'amd64', 'q35',
                           ['-device', 'amd-iommu,' + iommu] + list(args),
                           'amd_iommu=on ' + append, blk_opts=blk_opts,
                           pre_args=pre_args)
        self.run_guest(g)
        self.assert_guest(g, group_type, table='ivrs', ring=None)
        self.assertEqual(g.result('intremap'), intremap,
                         'interrupt remapping as the guest enabled it')
        self.assertRegex('\n'.join(g.lines),
                         r'AMD-Vi: Extended features \(0x8c[15], 0x0\): PreF',
                         'the guest found the IOMMU the IVRS describes')
        return g

    def test_strict(self):
        self.guest('intremap=on', 'iommu.strict=1')

    def test_lazy(self):
        # NpCache (the IOMMU caches absent entries: it runs in a VM) makes
        # Linux flush on map and choose strict mode whatever it is told
        g = self.guest('intremap=on', 'iommu.strict=0', group_type='DMA')
        self.assertIn('Using strict mode due to virtualization',
                      '\n'.join(g.lines))

    def test_passthrough(self):
        self.guest('intremap=on', 'iommu=pt', group_type='identity')

    def test_intremap_off(self):
        self.guest('intremap=off', 'iommu.strict=1', intremap='off')

    def test_behind_pci_bridge(self):
        # virtio-blk on a conventional bus behind a PCIe-to-PCI bridge: its
        # requests carry the bridge's alias (secondary bus, devfn 0), which
        # the IVRS gives as an alias range
        self.guest('intremap=on', 'iommu.strict=1',
                   pre_args=['-device', 'pcie-pci-bridge,id=br1'],
                   blk_opts=',bus=br1,addr=1')

    def test_pci_id(self):
        # the IOMMU's PCI function made by the user and named (10.1's way)
        self.guest('intremap=on,pci-id=iommupci0', 'iommu.strict=1',
                   pre_args=['-device', 'AMDVI-PCI,id=iommupci0,addr=0x5'])

    def fault(self, iommu, args=()):
        # an edu device (no driver) reads IOVA 0x2340000, which its domain
        # does not map; the event reaches the guest through the IOMMU's
        # interrupt: PCI MSI, or INTCAPXT in x2APIC mode
        self.require_accelerator('tcg')
        g = self.new_guest('guest', 'amd64', 'q35',
                           ['-device', 'amd-iommu,' + iommu,
                            '-device', 'edu'] + list(args),
                           'amd_iommu=on iommu.strict=1 viommu.fault=1',
                           disk=False, net=False)
        self.run_guest(g)
        self.assertRegex(g.result('fault.event'),
                         r'AMD-Vi: Event logged \[IO_PAGE_FAULT .*'
                         r'address=0x2340000 flags=0x0000\]',
                         'the guest logged the fault event')
        self.assertEqual(g.result('guest.faults'), '1', 'one fault')
        self.assertEqual(g.device_faults(), 1, 'one fault in the device log')
        return g

    def test_io_page_fault(self):
        self.fault('intremap=on')

    def test_io_page_fault_intcapxt(self):
        g = self.fault('intremap=on,xtsup=on', ['-cpu', 'qemu64,+x2apic'])
        self.assertEqual(g.result('intremap'), 'x2apic')

    def test_x2apic_high_apic_id(self):
        # vCPU 1 sits in socket 1: with 256 cores a socket, APIC ID 256
        g = self.guest('intremap=on,xtsup=on', 'iommu.strict=1',
                       intremap='x2apic',
                       args=['-cpu', 'qemu64,+x2apic',
                             '-smp', '1,maxcpus=512,sockets=2,cores=256,'
                             'threads=1',
                             '-device', 'qemu64-x86_64-cpu,socket-id=1,'
                             'core-id=0,thread-id=0'])
        self.assertEqual(g.result('cpu.apicids'), '0,256', 'vCPUs online')


ViommuAmdGuestNewest = on_newest_kernel(ViommuAmdGuest)


if __name__ == '__main__':
    QemuSystemTest.main()
