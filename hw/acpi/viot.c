/*
 * qemu-viommu: the Virtual I/O Translation table (VIOT), ACPI 6.4 5.2.32:
 * the machine's buses as the core's encoder (hw/viommu/acpi-viot.c) takes
 * them.
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
#include "hw/viommu/acpi-viot.h"

static int collect_translated_buses(Object *obj, void *opaque)
{
    GArray *ranges = opaque;
    PCIHostState *host;
    ViotPciRange r;
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
    const ViotPciRange *x = a, *y = b;

    return (gint)x->first_bus - (gint)y->first_bus;
}

void build_viot(MachineState *ms, GArray *table_data, BIOSLinker *linker,
                uint16_t virtio_iommu_bdf, const char *oem_id,
                const char *oem_table_id)
{
    AcpiTable table = { .sig = "VIOT", .rev = 0,
                        .oem_id = oem_id, .oem_table_id = oem_table_id };
    g_autoptr(GArray) ranges = g_array_new(false, false, sizeof(ViotPciRange));
    g_autofree uint8_t *body = NULL;
    const ViotPciRange *buses;
    size_t len;

    object_child_foreach_recursive(OBJECT(ms), collect_translated_buses,
                                   ranges);
    g_array_sort(ranges, by_first_bus);
    buses = (const ViotPciRange *)ranges->data;
    len = viot_encode(virtio_iommu_bdf, buses, ranges->len, NULL, 0);
    body = g_malloc(len);
    viot_encode(virtio_iommu_bdf, buses, ranges->len, body, len);
    acpi_table_begin(&table, table_data);
    g_array_append_vals(table_data, body, len);
    acpi_table_end(linker, &table);
}
