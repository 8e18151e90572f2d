/*
 * qemu-viommu: x-host-iommu-stub, a PCI function that stands for a device
 * assigned through VFIO, for tests only.
 *
 * It hands the vIOMMU it sits behind a HostIOMMUDevice whose page sizes
 * and usable IOVA range are properties, as VFIO does for a real device
 * (pci_device_set_iommu_device at realize, unset at exit). That reaches
 * what no x86 host here can show with a real IOMMU: a host IOMMU whose
 * smallest page is larger than the guest's granule.
 *
 *   -device x-host-iommu-stub,page-size=64k,iova-end=0x7fffffffff
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/range.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/qdev-properties.h"
#include "system/host_iommu_device.h"

#define TYPE_HOST_IOMMU_STUB "x-host-iommu-stub"
#define TYPE_HOST_IOMMU_STUB_HIOD "x-host-iommu-stub-hiod"
OBJECT_DECLARE_SIMPLE_TYPE(HostIOMMUStub, HOST_IOMMU_STUB)

typedef struct StubHostIOMMU {
    HostIOMMUDevice parent_obj;
    uint64_t page_size;
    uint64_t iova_end;
} StubHostIOMMU;

struct HostIOMMUStub {
    PCIDevice parent_obj;
    uint64_t page_size;     /* the host IOMMU's smallest page */
    uint64_t iova_end;      /* it maps [0, iova_end] */
    StubHostIOMMU *hiod;
};

static uint64_t stub_page_size_mask(HostIOMMUDevice *hiod)
{
    StubHostIOMMU *h = container_of(hiod, StubHostIOMMU, parent_obj);

    return -h->page_size;
}

static GList *stub_iova_ranges(HostIOMMUDevice *hiod)
{
    StubHostIOMMU *h = container_of(hiod, StubHostIOMMU, parent_obj);
    Range *r = g_new(Range, 1);

    range_set_bounds(r, 0, h->iova_end);
    return g_list_append(NULL, r);
}

static void host_iommu_stub_realize(PCIDevice *pdev, Error **errp)
{
    HostIOMMUStub *s = HOST_IOMMU_STUB(pdev);
    StubHostIOMMU *h;

    if (!is_power_of_2(s->page_size) || s->page_size < 4096) {
        error_setg(errp, "page-size: %" PRIu64 " is not allowed; allowed "
                   "values are powers of two from 4k", s->page_size);
        return;
    }
    h = (StubHostIOMMU *)object_new(TYPE_HOST_IOMMU_STUB_HIOD);
    h->page_size = s->page_size;
    h->iova_end = s->iova_end;
    h->parent_obj.name = g_strdup(DEVICE(pdev)->id ?: TYPE_HOST_IOMMU_STUB);
    if (!pci_device_set_iommu_device(pdev, &h->parent_obj, errp)) {
        object_unref(OBJECT(h));
        return;
    }
    s->hiod = h;
}

static void host_iommu_stub_exit(PCIDevice *pdev)
{
    HostIOMMUStub *s = HOST_IOMMU_STUB(pdev);

    pci_device_unset_iommu_device(pdev);
    object_unref(OBJECT(s->hiod));
    s->hiod = NULL;
}

static const Property host_iommu_stub_properties[] = {
    DEFINE_PROP_SIZE("page-size", HostIOMMUStub, page_size, 4096),
    DEFINE_PROP_UINT64("iova-end", HostIOMMUStub, iova_end, UINT64_MAX),
};

static void host_iommu_stub_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = host_iommu_stub_realize;
    k->exit = host_iommu_stub_exit;
    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = PCI_DEVICE_ID_REDHAT_TEST;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "stands for a VFIO device to test a vIOMMU (tests only)";
    device_class_set_props(dc, host_iommu_stub_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void stub_hiod_class_init(ObjectClass *klass, void *data)
{
    HostIOMMUDeviceClass *hiodc = HOST_IOMMU_DEVICE_CLASS(klass);

    hiodc->get_page_size_mask = stub_page_size_mask;
    hiodc->get_iova_ranges = stub_iova_ranges;
}

static const TypeInfo host_iommu_stub_types[] = {
    {
        .name = TYPE_HOST_IOMMU_STUB,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(HostIOMMUStub),
        .class_init = host_iommu_stub_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    }, {
        .name = TYPE_HOST_IOMMU_STUB_HIOD,
        .parent = TYPE_HOST_IOMMU_DEVICE,
        .instance_size = sizeof(StubHostIOMMU),
        .class_init = stub_hiod_class_init,
    },
};

DEFINE_TYPES(host_iommu_stub_types)
