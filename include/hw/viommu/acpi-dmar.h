/*
 * qemu-viommu: the DMA Remapping Reporting table (DMAR), VT-d 4.1 chapter 8.
 *
 * Encodes the table's body (everything after the 36-byte ACPI header, which
 * the machine's ACPI builder writes with its checksum): host address width
 * and flags (8.1), one DRHD per remapping unit with its device scopes
 * (8.3, 8.3.1), RMRRs (8.4), an ATSR (8.5) and a SATC (8.8). Independent
 * of QEMU, so that it is unit-tested against upstream QEMU's expected
 * tables byte for byte.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_ACPI_DMAR_H
#define HW_VIOMMU_ACPI_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DMAR flags (8.1) */
#define DMAR_FLAG_INTR_REMAP                1u
#define DMAR_FLAG_X2APIC_OPT_OUT            2u
#define DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN  4u
/*
 * Bit 3, reserved in VT-d 4.x and read by Linux 7.3 and later as "firmware
 * forces DMA remapping off" (DMAR_REMAP_OPT_OUT): interrupt remapping only.
 */
#define DMAR_FLAG_DMA_REMAP_OPT_OUT         8u

/* Device scope types (8.3.1) */
#define DMAR_SCOPE_PCI_ENDPOINT     1
#define DMAR_SCOPE_PCI_SUBHIERARCHY 2
#define DMAR_SCOPE_IOAPIC           3
#define DMAR_SCOPE_HPET             4

/* One device scope with a one-entry path: the device at bus:devfn. */
typedef struct DmarScope {
    uint8_t type;               /* DMAR_SCOPE_* */
    uint8_t enumeration_id;     /* IOAPIC ID or HPET number; 0 for PCI */
    uint8_t bus;                /* start bus number */
    uint8_t devfn;              /* path: device << 3 | function */
} DmarScope;

typedef struct DmarRmrr {
    uint64_t base;              /* 4 KiB aligned */
    uint64_t limit;             /* inclusive, last byte of a 4 KiB page */
    const DmarScope *scopes;    /* the devices that use the range */
    unsigned nr_scopes;
} DmarRmrr;

typedef struct DmarConfig {
    unsigned host_address_width;    /* bits: 39, 48, 57 */
    uint8_t flags;                  /* DMAR_FLAG_* */
    uint64_t drhd_base;             /* register base of the one DRHD */
    uint16_t segment;
    bool include_pci_all;           /* DRHD flag INCLUDE_PCI_ALL */
    const DmarScope *scopes;        /* the DRHD's scopes, in table order */
    unsigned nr_scopes;
    const DmarRmrr *rmrrs;
    unsigned nr_rmrrs;
    bool atsr_all_ports;            /* an ATSR with ALL_PORTS (device-IOTLB) */
    const DmarScope *satc_scopes;   /* a SATC with these devices, if any */
    unsigned nr_satc_scopes;
    bool satc_atc_required;         /* SATC flag ATC_REQUIRED */
} DmarConfig;

/*
 * Writes the DMAR body for @cfg into @buf (@cap bytes) and returns its
 * length in bytes; if @cap is too small, writes nothing and returns the
 * length needed. 0 if @cfg is invalid (a host address width outside
 * 1..64, or a DRHD, RMRR or SATC with more scopes than its 16-bit length
 * holds). The structures come in the order of 8.1: DRHD, RMRRs, ATSR,
 * SATC.
 */
size_t dmar_encode(const DmarConfig *cfg, uint8_t *buf, size_t cap);

/*
 * Parses the range of one RMRR as a user writes it, "BASE-LIMIT" (C
 * numbers, LIMIT inclusive), for a guest address width of @aw bits.
 * Fills *@base and *@limit and returns NULL, or returns why the range is
 * refused: not two numbers, BASE not 4 KiB aligned, LIMIT not the last
 * byte of a 4 KiB page, LIMIT below BASE, or beyond the address width.
 */
const char *dmar_rmrr_parse_range(const char *text, unsigned aw,
                                  uint64_t *base, uint64_t *limit);

#endif
