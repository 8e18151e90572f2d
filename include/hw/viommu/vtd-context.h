/*
 * qemu-viommu: VT-d root and context entries (VT-d 4.1, 9.1 to 9.4) and
 * the DMA-remapping fault reasons they and the second-stage walk give
 * (7.1.3, table 24, legacy mode).
 *
 * Independent of QEMU: the device model reads the entries (two
 * little-endian quadwords each) and turns a fault into its fault record.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_VTD_CONTEXT_H
#define HW_VIOMMU_VTD_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/viommu/pt-walk.h"

/* DMA-remapping fault reasons, legacy mode (7.1.3) */
typedef enum VtdDmaFault {
    VTD_FR_OK = 0,
    VTD_FR_ROOT_NOT_PRESENT = 0x1,
    VTD_FR_CONTEXT_NOT_PRESENT = 0x2,
    VTD_FR_CONTEXT_INVALID = 0x3,       /* AW, T not supported */
    VTD_FR_ADDR_BEYOND_AGAW = 0x4,
    VTD_FR_WRITE = 0x5,                 /* write to an entry without W */
    VTD_FR_READ = 0x6,                  /* read of an entry without R */
    VTD_FR_PAGING_READ = 0x7,           /* a paging entry could not be read */
    VTD_FR_ROOT_READ = 0x8,
    VTD_FR_CONTEXT_READ = 0x9,
    VTD_FR_ROOT_RESERVED = 0xa,
    VTD_FR_CONTEXT_RESERVED = 0xb,
    VTD_FR_PAGING_RESERVED = 0xc,
    VTD_FR_TRANSLATION_BLOCKED = 0xd,   /* a translation request, T = 00 */
    /* scalable mode (7.1.3, table 25) */
    VTD_FR_SM_ROOT_READ = 0x38,
    VTD_FR_SM_ROOT_NOT_PRESENT = 0x39,
    VTD_FR_SM_ROOT_RESERVED = 0x3a,
    VTD_FR_SM_CONTEXT_READ = 0x40,
    VTD_FR_SM_CONTEXT_NOT_PRESENT = 0x41,
    VTD_FR_SM_CONTEXT_RESERVED = 0x42,
    VTD_FR_SM_CONTEXT_INVALID = 0x43,
    VTD_FR_SM_PASID_TOO_LARGE = 0x46,   /* beyond the PASID directory */
    VTD_FR_SM_PASID_DIR_READ = 0x50,
    VTD_FR_SM_PASID_DIR_NOT_PRESENT = 0x51,
    VTD_FR_SM_PASID_DIR_RESERVED = 0x52,
    VTD_FR_SM_PASID_READ = 0x58,
    VTD_FR_SM_PASID_NOT_PRESENT = 0x59,
    VTD_FR_SM_PASID_RESERVED = 0x5a,
    VTD_FR_SM_PASID_INVALID = 0x5b,     /* PGTT, AW or FLPM not offered */
} VtdDmaFault;

/* Context entry translation types (T, 9.3) */
typedef enum VtdTranslationType {
    VTD_TT_UNTRANSLATED = 0,            /* second stage, no device-IOTLB */
    VTD_TT_ALL = 1,                     /* second stage, device-IOTLB too */
    VTD_TT_PASS_THROUGH = 2,
} VtdTranslationType;

/* What the model offers, for the checks of context and PASID entries. */
typedef struct VtdCaps {
    uint8_t sagaw;                      /* CAP.SAGAW: bit 1 39, 2 48, 3 57 */
    bool pass_through;                  /* ECAP.PT */
    bool device_iotlb;                  /* ECAP.DT */
    bool first_stage;                   /* ECAP.FLTS */
    bool second_stage;                  /* ECAP.SLTS */
    bool fl5lp;                         /* CAP.FL5LP: 5-level first stage */
    uint64_t haw_mask;                  /* host address width, as a mask */
} VtdCaps;

/* PASID-granular translation types (PGTT, 9.6) */
typedef enum VtdPgtt {
    VTD_PGTT_FIRST_STAGE = 1,
    VTD_PGTT_SECOND_STAGE = 2,
    VTD_PGTT_NESTED = 3,
    VTD_PGTT_PASS_THROUGH = 4,
} VtdPgtt;

/* A decoded scalable-mode context entry (9.4). */
typedef struct VtdSmContext {
    uint64_t pasid_dir;                 /* PASID directory, 4 KiB aligned */
    uint32_t pasid_dir_entries;         /* 2^(PDTS + 7) */
    uint32_t rid_pasid;                 /* PASID of requests without one */
    bool dte;                           /* device-TLB (ATS) enabled */
    bool pasid_enable;                  /* requests with PASID allowed */
    bool fpd;
} VtdSmContext;

/* A decoded scalable-mode PASID table entry (9.6). */
typedef struct VtdPasidEntry {
    VtdPgtt pgtt;
    uint16_t domain;                    /* DID */
    uint64_t ssptptr;                   /* second stage table */
    int ss_levels;                      /* 3, 4 or 5 (AW) */
    uint64_t flptptr;                   /* first stage table */
    int fs_levels;                      /* 4 or 5 (FLPM) */
    bool sre;                           /* supervisor requests enabled */
    bool pgsnp;                         /* page snoop */
    bool fpd;
} VtdPasidEntry;

/* A decoded legacy context entry. */
typedef struct VtdContext {
    VtdTranslationType type;
    uint64_t slptptr;                   /* second-stage table, 4 KiB aligned */
    int levels;                         /* 3, 4 or 5 (AW 1, 2, 3) */
    uint16_t domain;                    /* DID */
    bool fpd;                           /* fault processing disable */
} VtdContext;

/*
 * The context table for @devfn from a root entry (@lo, @hi). Legacy mode
 * (@scalable false): one table for all 256 functions, in @lo. Scalable
 * mode: the lower table (devfn 0..127) in @lo, the upper in @hi; a
 * scalable context entry is twice the size (256 bits), so the index into
 * the table is devfn % 128. Returns VTD_FR_OK with *@table, or the fault.
 */
VtdDmaFault vtd_root_context_table(uint64_t lo, uint64_t hi, bool scalable,
                                   uint8_t devfn, const VtdCaps *caps,
                                   uint64_t *table);

/*
 * Decodes a legacy context entry (@lo, @hi). *@fpd is its FPD whatever
 * the result (faults at this stage and after are not recorded when set,
 * but for a context entry that is not present).
 */
VtdDmaFault vtd_context_decode(uint64_t lo, uint64_t hi, const VtdCaps *caps,
                               VtdContext *ctx, bool *fpd);

/*
 * Decodes a scalable-mode context entry, its four quadwords in @q.
 * *@fpd is its FPD whatever the result.
 */
VtdDmaFault vtd_sm_context_decode(const uint64_t q[4], const VtdCaps *caps,
                                  VtdSmContext *ctx, bool *fpd);

/*
 * The PASID table for @pasid from the scalable context @ctx: reads the
 * PASID directory entry with @read (8 bytes at an address, false on
 * failure) and returns VTD_FR_OK with *@table, the address of the 64-entry
 * PASID table that holds @pasid (its entry is at + 64 * (pasid % 64)).
 */
VtdDmaFault vtd_pasid_table(const VtdSmContext *ctx, uint32_t pasid,
                            const VtdCaps *caps, ViommuPtReadFn read,
                            void *opaque, uint64_t *table, bool *fpd);

/*
 * Decodes a scalable-mode PASID table entry, its eight quadwords in @q.
 * *@fpd is its FPD whatever the result.
 */
VtdDmaFault vtd_pasid_entry_decode(const uint64_t q[8], const VtdCaps *caps,
                                   VtdPasidEntry *pe, bool *fpd);

/* A second-stage walk fault as the legacy fault reason, for @write. */
VtdDmaFault vtd_fault_from_walk(ViommuPtFault fault, bool write);

#endif
