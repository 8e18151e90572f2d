#!/usr/bin/env python3
#
# qemu-viommu: QEMU's trace events of our three IOMMUs, as a user debugging
# one turns them on: a guest behind each (Debian's 6.12 kernel, strict
# mode, q35, TCG) with -trace 'virtio_iommu_*', 'vtd_*' or 'amdvi_*'. The
# log must show the events of what the guest's driver did, under the
# names upstream QEMU gives them: the driver enabling the IOMMU (tables
# latched, translation and interrupt remapping on), each invalidation with
# its scope, the waits that follow, translations, address-space switches,
# remapped interrupts; for virtio-iommu its requests (ATTACH, MAP, UNMAP,
# PROBE) and the notifications they send. A normal guest gets no refusal
# and no fault event; its data is intact.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import re

from qemu_test import QemuSystemTest
from viommu_kit import ViommuGuestTest

VIRTIO_EVENTS = [
    'virtio_iommu_get_features', 'virtio_iommu_get_config',
    'virtio_iommu_init_iommu_mr', 'virtio_iommu_device_reset_exit',
    'virtio_iommu_probe', 'virtio_iommu_attach',
    'virtio_iommu_switch_address_space', 'virtio_iommu_map',
    'virtio_iommu_unmap', 'virtio_iommu_unmap_done',
    'virtio_iommu_translate', 'virtio_iommu_translate_out',
    'virtio_iommu_notify_flag_add', 'virtio_iommu_notify_unmap',
]
VTD_EVENTS = [
    'vtd_reg_write', 'vtd_reg_read', 'vtd_reg_write_gcmd',
    'vtd_reg_dmar_root', 'vtd_reg_ir_root', 'vtd_inv_qi_setup',
    'vtd_inv_qi_enable', 'vtd_inv_qi_tail', 'vtd_inv_qi_fetch',
    'vtd_inv_qi_head', 'vtd_inv_desc', 'vtd_inv_desc_cc_global',
    'vtd_inv_desc_iotlb_global', 'vtd_inv_desc_iotlb_pages',
    'vtd_inv_desc_wait_sw', 'vtd_inv_desc_iec', 'vtd_dmar_enable',
    'vtd_ir_enable', 'vtd_switch_address_space', 'vtd_dmar_translate',
    'vtd_iotlb_page_update', 'vtd_ir_remap_msi_req', 'vtd_ir_irte_get',
    'vtd_ir_remap', 'vtd_ir_remap_msi', 'vtd_reset_exit',
]
AMDVI_EVENTS = [
    'amdvi_mmio_write', 'amdvi_mmio_read', 'amdvi_control_status',
    'amdvi_command_exec', 'amdvi_completion_wait', 'amdvi_devtab_inval',
    'amdvi_pages_inval', 'amdvi_all_inval', 'amdvi_intr_inval',
    'amdvi_translation_result', 'amdvi_cache_update',
    'amdvi_switch_address_space', 'amdvi_ir_remap_msi_req', 'amdvi_ir_irte',
    'amdvi_ir_remap_msi', 'amdvi_reset_exit',
]
REFUSALS = re.compile(r'^(virtio_iommu_request_refused|'
                      r'virtio_iommu_report_fault|vtd_dmar_fault|'
                      r'amdvi_page_fault|amdvi_invalid_dte|'
                      r'viommu_fault_queue_full)\b', re.M)


class ViommuTrace(ViommuGuestTest):

    def traced_guest(self, device, pattern, append, events):
        self.require_accelerator('tcg')
        g = self.new_guest('guest', 'amd64', 'q35',
                           ['-device', device, '-trace', pattern],
                           'iommu.strict=1 ' + append, net=False)
        self.run_guest(g)
        self.assert_data(g)
        self.assert_no_faults(g)
        with open(g.qemu_log, errors='replace') as f:
            log = f.read()
        seen = set(re.findall(r'^([a-z0-9_]+) ', log, re.M))
        missing = [e for e in events if e not in seen]
        self.assertEqual(missing, [], 'trace events in %s' % g.qemu_log)
        self.assertIsNone(REFUSALS.search(log),
                          'a refusal or fault event in a normal run')
        return log

    def test_virtio_iommu(self):
        log = self.traced_guest('virtio-iommu-pci', 'virtio_iommu_*', '',
                                VIRTIO_EVENTS)
        # DMA translated for an endpoint the driver attached
        attached = set(re.findall(r'^virtio_iommu_attach domain=\d+ '
                                  r'endpoint=(\d+)', log, re.M))
        translated = set(re.findall(r'^virtio_iommu_translate_out .* for '
                                    r'sid=(\d+)', log, re.M))
        self.assertTrue(attached & translated, 'attached %s, translated %s'
                        % (sorted(attached), sorted(translated)))

    def test_intel_iommu(self):
        log = self.traced_guest('intel-iommu,intremap=on', 'vtd_*',
                                'intel_iommu=on', VTD_EVENTS)
        self.assertIn('vtd_dmar_enable enable 1', log)
        self.assertIn('vtd_ir_enable enable 1', log)
        self.assertRegex(log, r'vtd_inv_desc invalidate desc type iotlb ')

    def test_amd_iommu(self):
        log = self.traced_guest('amd-iommu,intremap=on', 'amdvi_*', '',
                                AMDVI_EVENTS)
        self.assertRegex(log, r'amdvi_mmio_write Control write ')
        self.assertRegex(log, r'amdvi_switch_address_space Device '
                         r'[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] switching address '
                         r'space \(iommu enabled=1\)')


if __name__ == '__main__':
    QemuSystemTest.main()
