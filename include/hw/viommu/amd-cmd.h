/*
 * qemu-viommu: AMD-Vi command buffer entries (AMD I/O Virtualization
 * Technology (IOMMU) Specification, rev. 3.x, 2.4 "Commands").
 *
 * A command is 128 bits, four little-endian dwords; the opcode is bits
 * 31:28 of the second. The decoder checks what the model can tell is
 * wrong (an unknown or unoffered opcode, a field the format reserves) so
 * that the device logs ILLEGAL_COMMAND_ERROR and stops the buffer there.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_AMD_CMD_H
#define HW_VIOMMU_AMD_CMD_H

#include <stdbool.h>
#include <stdint.h>

typedef enum AmdCmdType {
    AMD_CMD_COMPLETION_WAIT = 0x1,
    AMD_CMD_INV_DEVTAB_ENTRY = 0x2,
    AMD_CMD_INV_IOMMU_PAGES = 0x3,
    AMD_CMD_INV_IOTLB_PAGES = 0x4,
    AMD_CMD_INV_INTERRUPT_TABLE = 0x5,
    AMD_CMD_PREFETCH_IOMMU_PAGES = 0x6,
    AMD_CMD_COMPLETE_PPR_REQUEST = 0x7,
    AMD_CMD_INV_IOMMU_ALL = 0x8,
} AmdCmdType;

/* What the model offers (EFR bits), for the commands that depend on it. */
typedef struct AmdCmdCaps {
    bool invalidate_all;        /* EFR.IASup: INVALIDATE_IOMMU_ALL */
    bool ppr;                   /* EFR.PPRSup: COMPLETE_PPR_REQUEST */
    bool guest;                 /* EFR.GTSup: GN and PASIDs */
    bool prefetch;              /* EFR.PreFSup: PREFETCH_IOMMU_PAGES */
} AmdCmdCaps;

/* One decoded command; fields its type does not have are zero. */
typedef struct AmdCmd {
    AmdCmdType type;
    uint16_t devid;             /* DEVTAB_ENTRY, IOTLB_PAGES, INTERRUPT_TABLE */
    uint16_t domain;            /* IOMMU_PAGES */
    uint32_t pasid;             /* with gn */
    bool gn;                    /* guest (PASID) addresses */
    bool pde;                   /* IOMMU_PAGES: page directory entries too */
    uint8_t maxpend;            /* IOTLB_PAGES: the device's queue depth */
    uint64_t start, last;       /* page range, inclusive (S encoding) */
    bool cw_store, cw_interrupt, cw_flush;     /* COMPLETION_WAIT: S, I, F */
    uint64_t cw_addr;           /* where the store goes, 8-byte aligned */
    uint64_t cw_data;           /* what it stores */
} AmdCmd;

/*
 * Decodes the command in @d (dwords 0..3) for a model offering @caps into
 * *@c. Returns false for ILLEGAL_COMMAND_ERROR (2.5.x): an opcode that is
 * not defined or not offered, or a reserved field set.
 *
 * Page ranges (IOMMU_PAGES, IOTLB_PAGES, PREFETCH): with S clear, the 4 KiB
 * page at the address; with S set, the naturally aligned block whose size
 * is given by the lowest clear bit of address[63:12] (all ones from bit 12
 * up to bit 62 means everything, as Linux sends 0x7fff_ffff_ffff_f000).
 */
bool amd_cmd_decode(const uint32_t d[4], const AmdCmdCaps *caps, AmdCmd *c);

#endif
