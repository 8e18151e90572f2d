/*
 * qemu-viommu: rules and helpers of the QEMU glue that the three IOMMU
 * models (virtio-iommu, intel-iommu, amd-iommu) share.
 *
 * The lock rule. Besides the BQL, each model has one lock of its own
 * (s->lock: its tables, caches and translation state), which translate()
 * takes, with or without the BQL (an IOThread's DMA).
 *  - Order: the BQL, then s->lock; never the BQL while s->lock is held.
 *  - Nothing leaves the model while s->lock is held: no IOMMU notifier
 *    (VFIO's map ioctls, vhost, hook 5's watch), no memory transaction or
 *    address-space switch, no interrupt, no guest memory access that may
 *    reach anything but RAM. What a change made under the lock must tell
 *    the rest of QEMU is collected under it and sent once it is dropped,
 *    still under the BQL and in the order it was collected (virtio-iommu:
 *    virtio_iommu_unlock(); intel-iommu and amd-iommu: the spaces changed
 *    under the lock are switched and synced after it).
 *  - Faults found by translate() without the BQL are queued under s->lock
 *    and recorded by a bottom half.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VIOMMU_MODEL_H
#define HW_VIOMMU_VIOMMU_MODEL_H

#include "hw/pci/pci_bus.h"

/*
 * An IOMMU's per-function address space (endpoint) keeps the PCIBus * the
 * function sits on, and reads it for the requester ID (pci_bus_num) long
 * after it was made: translate(), requests naming an endpoint, query-viommu.
 * A bridge's secondary bus lives inside the bridge, and a hot-unplugged
 * bridge is freed with it, so each endpoint holds both (viommu_hold_bus,
 * once, when it is made; never dropped, as endpoints are never freed).
 * Once the bridge is unplugged, viommu_bus_alive() is false and the
 * endpoint has no requester ID any more: the model treats it as gone
 * rather than reading the bus's number through the bridge's freed state.
 */
void viommu_hold_bus(PCIBus *bus);
bool viommu_bus_alive(PCIBus *bus);

#endif
