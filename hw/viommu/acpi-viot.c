/*
 * qemu-viommu: the VIOT encoder (see include/hw/viommu/acpi-viot.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "hw/viommu/acpi-viot.h"
#include "hw/viommu/le.h"

#define VIOT_BODY_HEADER        12      /* count, offset, 8 reserved */
#define VIOT_NODE_PCI_RANGE     1
#define VIOT_PCI_RANGE_SIZE     24
#define VIOT_NODE_VIRTIO_PCI    3
#define VIOT_VIRTIO_PCI_SIZE    16

/* 5.2.32.5 virtio-pci IOMMU node: type, reserved, length, segment, BDF */
static void put_virtio_pci(uint8_t *p, uint16_t bdf)
{
    p[0] = VIOT_NODE_VIRTIO_PCI;
    le_st16(p + 2, VIOT_VIRTIO_PCI_SIZE);
    le_st16(p + 6, bdf);
}

/*
 * 5.2.32.3 PCI range node: type, reserved, length, endpoint start,
 * segment start and end, BDF start and end, output node, 6 reserved.
 */
static void put_pci_range(uint8_t *p, const ViotPciRange *r,
                          uint16_t iommu_node)
{
    uint16_t first = r->first_bus << 8, last = r->last_bus << 8 | 0xff;

    p[0] = VIOT_NODE_PCI_RANGE;
    le_st16(p + 2, VIOT_PCI_RANGE_SIZE);
    le_st32(p + 4, first);
    le_st16(p + 12, first);
    le_st16(p + 14, last);
    le_st16(p + 16, iommu_node);
}

size_t viot_encode(uint16_t iommu_bdf, const ViotPciRange *ranges,
                   size_t nr_ranges, uint8_t *buf, size_t cap)
{
    /* nodes follow the body's header: the IOMMU node comes first */
    const uint16_t iommu_node = VIOT_ACPI_HEADER_SIZE + VIOT_BODY_HEADER;
    size_t len = VIOT_BODY_HEADER + VIOT_VIRTIO_PCI_SIZE +
                 nr_ranges * VIOT_PCI_RANGE_SIZE;
    uint8_t *p;

    if (nr_ranges >= UINT16_MAX) {
        return 0;
    }
    if (cap < len) {
        return len;
    }
    memset(buf, 0, len);
    le_st16(buf, nr_ranges + 1);
    le_st16(buf + 2, iommu_node);
    put_virtio_pci(buf + VIOT_BODY_HEADER, iommu_bdf);
    p = buf + VIOT_BODY_HEADER + VIOT_VIRTIO_PCI_SIZE;
    for (size_t i = 0; i < nr_ranges; i++, p += VIOT_PCI_RANGE_SIZE) {
        put_pci_range(p, &ranges[i], iommu_node);
    }
    return len;
}
