/*
 * qemu-viommu: AMD-Vi device table entries (AMD I/O Virtualization
 * Technology (IOMMU) Specification, rev. 3.x, 2.2.2 "Device Table").
 *
 * A device table entry is 256 bits, four little-endian quadwords, indexed
 * by the requester's DeviceID (bus << 8 | devfn). It says whether and how
 * the device's DMA is translated (V, TV, Mode, the page-table root, IR/IW
 * for the whole device, the DomainID its IOTLB entries carry) and how its
 * interrupts are remapped (IV, the interrupt table and its length,
 * IntCtl, and the pass-through flags for the interrupt types that are not
 * remapped).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_AMD_DTE_H
#define HW_VIOMMU_AMD_DTE_H

#include <stdbool.h>
#include <stdint.h>

#define AMD_DTE_SIZE            32      /* bytes per entry */

/* What the entry says about DMA (translation is decided by V, TV, Mode). */
typedef enum AmdDteDma {
    AMD_DTE_DMA_UNTRANSLATED,   /* V clear: passes untranslated */
    AMD_DTE_DMA_BLOCKED,        /* V set, TV clear: no translation, aborted */
    AMD_DTE_DMA_MODE0,          /* Mode 0: untranslated, IR/IW decide */
    AMD_DTE_DMA_TRANSLATED,     /* Mode 1..6: through the page tables */
} AmdDteDma;

/* IntCtl (2.2.2): fixed and arbitrated interrupts */
typedef enum AmdDteIntCtl {
    AMD_DTE_INTCTL_ABORT = 0,   /* target abort */
    AMD_DTE_INTCTL_FORWARD = 1, /* forwarded unmapped */
    AMD_DTE_INTCTL_REMAP = 2,   /* remapped through the table */
} AmdDteIntCtl;

/* SysMgt (2.2.2): system management messages */
#define AMD_DTE_SYSMGT_BLOCK    0

/* One decoded entry; fields of the features not in use are zero. */
typedef struct AmdDte {
    bool valid;                 /* V: the DMA fields are valid */
    AmdDteDma dma;
    int mode;                   /* paging levels, 1..6 (Mode), 0: none */
    uint64_t root;              /* host page-table root (4 KiB aligned) */
    unsigned perm;              /* IR | IW as VIOMMU_PT_READ | _WRITE */
    uint16_t domain;            /* DomainID */
    bool iotlb;                 /* I: the device may cache (ATS) */
    bool suppress_faults;       /* SA: no IO_PAGE_FAULT events at all */
    bool suppress_repeats;      /* SE: none after the first, per device */
    bool allow_exclusion;       /* EX */
    unsigned sysmgt;            /* SysMgt, 2 bits */
    /* interrupts */
    bool iv;                    /* IV: the fields below are valid */
    uint64_t irt_root;          /* interrupt table, 128-byte aligned */
    unsigned irt_entries;       /* 2^IntTabLen */
    bool ig;                    /* IG: no event for unmapped interrupts */
    AmdDteIntCtl int_ctl;
    bool init_pass, eint_pass, nmi_pass, lint0_pass, lint1_pass;
} AmdDte;

/* Why an entry could not be used: ILLEGAL_DEV_TABLE_ENTRY (2.5.2). */
typedef enum AmdDteFault {
    AMD_DTE_OK = 0,
    AMD_DTE_RESERVED,           /* a reserved bit or value is set */
} AmdDteFault;

/*
 * Decodes the entry @q (quadwords 0..3) into *@dte. @max_mode is the
 * deepest paging mode offered (EFR.HATS: 4, 5 or 6); @out_mask the output
 * address bits that may be set. Bits of the features this model does not
 * offer (guest translation, PPR, dirty tracking, SNP attributes) are
 * reserved. V says whether the DMA half (bits 127:2, and 255:192) is
 * valid, IV whether the interrupt half (191:128) is: each is read only
 * when valid. Returns AMD_DTE_RESERVED for a reserved bit set, a Mode of
 * 7 or above @max_mode, IntCtl 3, or a reserved IntTabLen (1100b-1111b;
 * 0000b-1011b are 1 to 2048 entries).
 */
AmdDteFault amd_dte_decode(const uint64_t q[4], int max_mode,
                           uint64_t out_mask, AmdDte *dte);

#endif
