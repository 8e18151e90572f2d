/*
 * qemu-viommu: QEMU glue shared by the three IOMMU models (see
 * include/hw/viommu/viommu-model.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/qdev-core.h"
#include "hw/viommu/viommu-model.h"

void viommu_hold_bus(PCIBus *bus)
{
    object_ref(OBJECT(bus));
    if (BUS(bus)->parent) {
        object_ref(OBJECT(BUS(bus)->parent));
    }
}

bool viommu_bus_alive(PCIBus *bus)
{
    return BUS(bus)->realized;
}
