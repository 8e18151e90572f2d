/*
 * qemu-viommu: the Virtual I/O Translation table (VIOT), ACPI 6.4 5.2.32.
 *
 * Tells the guest where the virtio-iommu sits (a virtio-pci IOMMU node)
 * and which PCI requester IDs it translates (one PCI range node per host
 * bridge whose bus does not bypass the IOMMU). Endpoint IDs are requester
 * IDs, as hw/virtio/virtio-iommu.c uses them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/viot.h"
#include "hw/boards.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_host.h"

#define VIOT_HEADER_SIZE 48             /* ACPI header + 12 bytes */
#define VIOT_NODE_PCI_RANGE 1
#define VIOT_NODE_PCI_RANGE_SIZE 24
#define VIOT_NODE_VIRTIO_PCI_IOMMU 3
#define VIOT_NODE_VIRTIO_PCI_IOMMU_SIZE 16

typedef struct ViotBusRange {
    uint16_t first_bus, last_bus;
} ViotBusRange;

static int collect_translated_buses(Object *obj, void *opaque)
{
    GArray *ranges = opaque;
    PCIHostState *host;
    ViotBusRange r;
    int first, last;

    if (!object_dynamic_cast(obj, TYPE_PCI_HOST_BRIDGE)) {
        return 0;
    }
    host = PCI_HOST_BRIDGE(obj);
    if (!host->bus || pci_bus_bypass_iommu(host->bus)) {
        return 0;
    }
    pci_bus_range(host->bus, &first, &last);
    r.first_bus = first;
    r.last_bus = last;
    g_array_append_val(ranges, r);
    return 0;
}

static gint by_first_bus(gconstpointer a, gconstpointer b)
{
    const ViotBusRange *x = a, *y = b;

    return (gint)x->first_bus - (gint)y->first_bus;
}

/* 5.2.32.3 PCI Range Node */
static void append_pci_range(GArray *t, const ViotBusRange *r,
                             uint16_t iommu_node)
{
    uint16_t first_rid = PCI_BUILD_BDF(r->first_bus, 0);

    build_append_int_noprefix(t, VIOT_NODE_PCI_RANGE, 1);
    build_append_int_noprefix(t, 0, 1);
    build_append_int_noprefix(t, VIOT_NODE_PCI_RANGE_SIZE, 2);
    build_append_int_noprefix(t, first_rid, 4);        /* endpoint start */
    build_append_int_noprefix(t, 0, 2);                /* segment start */
    build_append_int_noprefix(t, 0, 2);                /* segment end */
    build_append_int_noprefix(t, first_rid, 2);        /* BDF start */
    build_append_int_noprefix(t, PCI_BUILD_BDF(r->last_bus, 0xff), 2);
    build_append_int_noprefix(t, iommu_node, 2);       /* output node */
    build_append_int_noprefix(t, 0, 6);
}

/* 5.2.32.5 virtio-pci IOMMU Node */
static void append_virtio_pci_iommu(GArray *t, uint16_t bdf)
{
    build_append_int_noprefix(t, VIOT_NODE_VIRTIO_PCI_IOMMU, 1);
    build_append_int_noprefix(t, 0, 1);
    build_append_int_noprefix(t, VIOT_NODE_VIRTIO_PCI_IOMMU_SIZE, 2);
    build_append_int_noprefix(t, 0, 2);                /* segment */
    build_append_int_noprefix(t, bdf, 2);
    build_append_int_noprefix(t, 0, 8);
}

void build_viot(MachineState *ms, GArray *table_data, BIOSLinker *linker,
                uint16_t virtio_iommu_bdf, const char *oem_id,
                const char *oem_table_id)
{
    AcpiTable table = { .sig = "VIOT", .rev = 0,
                        .oem_id = oem_id, .oem_table_id = oem_table_id };
    g_autoptr(GArray) ranges = g_array_new(false, false, sizeof(ViotBusRange));
    /* nodes follow the header directly: the IOMMU node comes first */
    const uint16_t iommu_node = VIOT_HEADER_SIZE;

    object_child_foreach_recursive(OBJECT(ms), collect_translated_buses,
                                   ranges);
    g_array_sort(ranges, by_first_bus);

    acpi_table_begin(&table, table_data);
    build_append_int_noprefix(table_data, ranges->len + 1, 2); /* node count */
    build_append_int_noprefix(table_data, iommu_node, 2);   /* node offset */
    build_append_int_noprefix(table_data, 0, 8);
    append_virtio_pci_iommu(table_data, virtio_iommu_bdf);
    for (guint i = 0; i < ranges->len; i++) {
        append_pci_range(table_data, &g_array_index(ranges, ViotBusRange, i),
                         iommu_node);
    }
    acpi_table_end(linker, &table);
}
