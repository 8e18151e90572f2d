/*
 * qemu-viommu: the Virtual I/O Translation table (VIOT) encoder, ACPI 6.4
 * 5.2.32, independent of QEMU.
 *
 * The body (the bytes after the 36-byte ACPI header): node count (16
 * bits), offset of the first node (16), 8 reserved bytes, then the nodes.
 * Ours are a virtio-pci IOMMU node (5.2.32.5, 16 bytes) first, then one
 * PCI range node (5.2.32.3, 24 bytes) per range of buses the IOMMU
 * translates, in segment 0; endpoint IDs are the requester IDs
 * (bus << 8 | devfn) of the range, as virtio-iommu numbers endpoints.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_ACPI_VIOT_H
#define HW_VIOMMU_ACPI_VIOT_H

#include <stddef.h>
#include <stdint.h>

#define VIOT_ACPI_HEADER_SIZE   36

/* Buses [first_bus, last_bus] of segment 0, inclusive. */
typedef struct ViotPciRange {
    uint8_t first_bus, last_bus;
} ViotPciRange;

/*
 * Writes the VIOT body for the virtio-pci IOMMU at requester ID
 * @iommu_bdf translating @ranges[@nr_ranges] (in the order given) into
 * @buf (@cap bytes) and returns its length in bytes; if @cap is too small,
 * writes nothing and returns the length needed. 0 if there are more
 * ranges than the 16-bit node count holds.
 */
size_t viot_encode(uint16_t iommu_bdf, const ViotPciRange *ranges,
                   size_t nr_ranges, uint8_t *buf, size_t cap);

#endif
