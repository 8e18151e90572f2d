/*
 * qemu-viommu: the I/O Virtualization Reporting Structure (IVRS), AMD IOMMU
 * spec rev. 3.x, 5.2.
 *
 * Encodes the table's body (everything after the 36-byte ACPI header, which
 * the machine's ACPI builder writes with its checksum): IVinfo, then one
 * IOMMU described by an IVHD of type 10h, one of type 11h and, when asked,
 * one of type 40h, each followed by the same device entries (5.2.2.5).
 * Independent of QEMU, so that it is unit-tested against upstream QEMU's
 * expected table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_ACPI_IVRS_H
#define HW_VIOMMU_ACPI_IVRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IVHD device entry types (5.2.2.5) */
#define IVRS_DEV_ALL            0x01    /* 4 bytes: every device */
#define IVRS_DEV_SELECT         0x02    /* 4 bytes: one DeviceID */
#define IVRS_DEV_RANGE_START    0x03    /* 4 bytes */
#define IVRS_DEV_RANGE_END      0x04    /* 4 bytes */
#define IVRS_DEV_ALIAS_RANGE    0x43    /* 8 bytes: start, then the alias */
#define IVRS_DEV_SPECIAL        0x48    /* 8 bytes: IOAPIC or HPET */

/* Variety of a special entry */
#define IVRS_SPECIAL_IOAPIC     1
#define IVRS_SPECIAL_HPET       2

/*
 * IVHD 11h/40h attribute bit 0, HATDis: host (v1) translation is not
 * offered, as EFR.HATS 11b says; Linux 6.17 and later honour it.
 */
#define IVHD_ATTR_HATDIS        1u

/* One device entry; DTE settings (the flags byte) are zero. */
typedef struct IvrsDevEntry {
    uint8_t type;               /* IVRS_DEV_* */
    uint16_t devid;
    uint16_t alias;             /* ALIAS_RANGE: the requester ID used */
    uint8_t handle;             /* SPECIAL: IOAPIC ID or HPET number */
    uint8_t variety;            /* SPECIAL: IVRS_SPECIAL_* */
} IvrsDevEntry;

/* IVHD flags (5.2.2.2) */
#define IVHD_FLAG_HT_TUN_EN     (1u << 0)
#define IVHD_FLAG_IOTLB_SUP     (1u << 4)
#define IVHD_FLAG_COHERENT      (1u << 5)
#define IVHD_FLAG_PREF_SUP      (1u << 6)
#define IVHD_FLAG_PPR_SUP       (1u << 7)

typedef struct IvrsConfig {
    uint32_t ivinfo;            /* EFRSup, VA/PA/GVA sizes (5.2.1) */
    uint16_t iommu_devid;       /* the IOMMU's own PCI function */
    uint16_t cap_offset;        /* of its secure device capability */
    uint64_t base;              /* its registers */
    uint16_t segment;
    uint16_t iommu_info;        /* MSI number, unit ID */
    uint8_t flags10, flags11;   /* IVHD_FLAG_* for type 10h, 11h/40h */
    uint32_t features10;        /* type 10h IOMMU feature reporting */
    uint32_t attributes;        /* type 11h/40h IOMMU attributes: IVHD_ATTR_* */
    uint64_t efr, efr2;         /* type 11h/40h EFR register images */
    bool ivhd40;                /* also a type 40h block */
    const IvrsDevEntry *entries;
    unsigned nr_entries;
} IvrsConfig;

/*
 * Writes the body of the IVRS for @cfg into @buf (@cap bytes) and returns
 * its length; with @buf NULL only returns the length. Returns 0 if an IVHD
 * would be longer than its 16-bit length field allows.
 */
size_t ivrs_encode(const IvrsConfig *cfg, uint8_t *buf, size_t cap);

#endif
