/*
 * qemu-viommu: virtio-iommu-pci, the PCI transport of virtio-iommu-device.
 *
 * The IOMMU translates the DMA of the PCI root bus it sits on (the
 * "primary bus"); the VIOT (hw/acpi/viot.c) or the device tree tells the
 * guest which endpoints it manages.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "hw/pci/pci_bus.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-iommu.h"

typedef struct VirtIOIOMMUPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOIOMMU vdev;
} VirtIOIOMMUPCI;

static const Property virtio_iommu_pci_properties[] = {
    /* lets a machine or user give the function another PCI class */
    DEFINE_PROP_UINT32("class", VirtIOPCIProxy, class_code, 0),
    /*
     * Set by the machines' pre-plug hooks (the MSI doorbell window) on the
     * PCI device itself, so it lives here and fills the virtio device.
     */
    DEFINE_PROP_ARRAY("reserved-regions", VirtIOIOMMUPCI,
                      vdev.nr_prop_resv_regions, vdev.prop_resv_regions,
                      qdev_prop_reserved_region, ReservedRegion),
};

DECLARE_INSTANCE_CHECKER(VirtIOIOMMUPCI, VIRTIO_IOMMU_PCI,
                         TYPE_VIRTIO_IOMMU_PCI)

static void virtio_iommu_pci_realize(VirtIOPCIProxy *proxy, Error **errp)
{
    VirtIOIOMMUPCI *pdev = VIRTIO_IOMMU_PCI(proxy);
    PCIBus *bus = pci_get_bus(&proxy->pci_dev);

    /* The machine's pre-plug hook sets the MSI window as a reserved region */
    if (!qdev_get_machine_hotplug_handler(DEVICE(proxy))) {
        error_setg(errp, "virtio-iommu-pci: this machine type has no IOMMU "
                   "support (no hotplug handler to wire it up)");
        return;
    }
    if (!pci_bus_is_root(bus)) {
        error_setg(errp, "virtio-iommu-pci: bus: must be a PCI root bus "
                   "(pcie.0 on q35 and virt, pci.0 on pc)");
        return;
    }
    object_property_set_link(OBJECT(&pdev->vdev), "primary-bus", OBJECT(bus),
                             &error_abort);
    virtio_pci_force_virtio_1(proxy);
    qdev_realize(DEVICE(&pdev->vdev), BUS(&proxy->bus), errp);
}

static void virtio_iommu_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *pcic = PCI_DEVICE_CLASS(klass);

    VIRTIO_PCI_CLASS(klass)->realize = virtio_iommu_pci_realize;
    device_class_set_props(dc, virtio_iommu_pci_properties);
    pcic->class_id = PCI_CLASS_OTHERS;
    pcic->revision = VIRTIO_PCI_ABI_VERSION;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    /* The IOMMU must exist before the endpoints it translates. */
    dc->hotpluggable = false;
}

static void virtio_iommu_pci_instance_init(Object *obj)
{
    VirtIOIOMMUPCI *pdev = VIRTIO_IOMMU_PCI(obj);

    virtio_instance_init_common(obj, &pdev->vdev, sizeof(pdev->vdev),
                                TYPE_VIRTIO_IOMMU);
}

static void virtio_iommu_pci_register_types(void)
{
    static const VirtioPCIDeviceTypeInfo info = {
        .generic_name = TYPE_VIRTIO_IOMMU_PCI,
        .instance_size = sizeof(VirtIOIOMMUPCI),
        .instance_init = virtio_iommu_pci_instance_init,
        .class_init = virtio_iommu_pci_class_init,
    };

    virtio_pci_types_register(&info);
}

type_init(virtio_iommu_pci_register_types)
