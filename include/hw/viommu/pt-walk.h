/*
 * qemu-viommu: one walker for the I/O page-table formats of VT-d and AMD-Vi.
 *
 * A format is a small table of accessors (how an entry at a level says
 * "absent", "next table" or "leaf", and which permissions it grants); the
 * walk itself, its bounds and its fault reasons are shared:
 *
 *   viommu_pt_vtd_sl   VT-d second-stage tables (VT-d 4.1, 3.7 and 9.8):
 *                      3, 4 or 5 levels of 512 entries, R/W bits, PS leaves
 *                      at the levels the capability allows (SLLPS), SNP
 *   viommu_pt_x86_fl   x86-64 paging structures, the VT-d first stage
 *                      (VT-d 4.1, 3.6 and 9.7): 4 or 5 levels, P, R/W, U/S,
 *                      PS at the levels allowed (2 MiB; 1 GiB with FS1GP),
 *                      canonical input addresses, A and D set on use
 *   viommu_pt_amd_v1   AMD-Vi host page tables (AMD IOMMU spec 3.x, 2.2.3):
 *                      paging modes 1 to 6, Next Level to skip levels (the
 *                      skipped input bits must be zero), Next Level 7 for
 *                      page sizes between the levels' own, IR/IW
 *
 * Every entry is read through a memory-reader callback (guest-physical,
 * 8 bytes, little-endian), so the walker knows nothing of QEMU. A walk reads
 * at most one entry per level and every step goes strictly down a level, so
 * no table contents can make it loop or run long: a malformed table is a
 * fault, never a hang. Faults come back as neutral reasons (ViommuPtFault)
 * that each device model turns into its own fault record.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_PT_WALK_H
#define HW_VIOMMU_PT_WALK_H

#include <stdbool.h>
#include <stdint.h>

#define VIOMMU_PT_MAX_LEVELS    6
#define VIOMMU_PT_PAGE_SHIFT    12
#define VIOMMU_PT_LEVEL_BITS    9

/* Permissions, as requested of a walk and as granted by a leaf. */
#define VIOMMU_PT_READ          1u
#define VIOMMU_PT_WRITE         2u
#define VIOMMU_PT_USER          4u      /* x86 first stage: U/S all the way */

/* ViommuPtConfig.flags */
#define VIOMMU_PT_SET_AD        1u      /* first stage: set A, and D on write */

/*
 * Why a walk stopped. ADDR_WIDTH: the input is beyond the table's width, not
 * canonical (first stage), or has bits set where an AMD table skips levels.
 * TOO_LARGE: for_each_leaf read max_reads entries (tables that alias).
 */
typedef enum ViommuPtFault {
    VIOMMU_PT_OK = 0,
    VIOMMU_PT_NOT_PRESENT,      /* an entry on the way is not present */
    VIOMMU_PT_PERM,             /* present, but the access is not granted */
    VIOMMU_PT_RESERVED,         /* reserved bits, or a leaf where none may be */
    VIOMMU_PT_ADDR_WIDTH,
    VIOMMU_PT_BAD_LEVEL,        /* AMD: a Next Level that does not go down */
    VIOMMU_PT_READ_FAILED,      /* the memory reader could not read an entry */
    VIOMMU_PT_BAD_CONFIG,       /* level count the format does not have */
    VIOMMU_PT_TOO_LARGE,
} ViommuPtFault;

/* Default bound on the entries one viommu_pt_for_each_leaf reads. */
#define VIOMMU_PT_MAX_READS     (1ull << 24)

/*
 * Reads the 8-byte little-endian entry at guest-physical @addr into *@entry;
 * returns false if that memory cannot be read (the walk then faults).
 */
typedef bool (*ViommuPtReadFn)(void *opaque, uint64_t addr, uint64_t *entry);

/*
 * Sets first-stage A/D bits as hardware does, atomically: replaces the
 * entry at @addr with @entry if it still holds @old. Returns false if it
 * does not (the guest changed it: the walk starts again) or cannot be
 * written.
 */
typedef bool (*ViommuPtWriteFn)(void *opaque, uint64_t addr, uint64_t old,
                                uint64_t entry);

/* Walks begun again because an entry changed under an A/D update. */
#define VIOMMU_PT_AD_RETRIES    8

typedef struct ViommuPtFormat ViommuPtFormat;

/*
 * What to walk. leaf_levels: bit n set if the capability allows a large
 * leaf at level n (VT-d SLLPS, FS1GP: bits 2 and 3); out_mask: the output
 * address bits that may be set (host address width), others are reserved.
 */
typedef struct ViommuPtConfig {
    const ViommuPtFormat *fmt;
    uint64_t root;              /* top table, guest-physical (4 KiB aligned) */
    int levels;                 /* VT-d SL 3..5, x86 FL 4..5, AMD mode 1..6 */
    uint32_t leaf_levels;
    uint64_t out_mask;
    unsigned flags;             /* VIOMMU_PT_SET_AD */
    uint64_t max_reads;         /* for_each_leaf bound, 0: the default */
    ViommuPtReadFn read;
    ViommuPtWriteFn write;      /* may be NULL unless VIOMMU_PT_SET_AD */
    void *opaque;
} ViommuPtConfig;

/*
 * A translation: the page that holds the input. An AMD Next Level 7 page
 * is reported entry by entry (a guest may make its replicas differ).
 */
typedef struct ViommuPtResult {
    uint64_t iova;              /* start of the page that holds the input */
    uint64_t output;            /* its output (guest-physical) address */
    unsigned page_shift;        /* log2 of the page size: 12, 21, 30, ... */
    unsigned perm;              /* VIOMMU_PT_READ | WRITE | USER granted */
    bool snoop;                 /* VT-d second stage: SNP of the leaf */
    int level;                  /* level of the leaf or the faulting entry */
    uint64_t entry;             /* the leaf, or the faulting entry, or 0 */
} ViommuPtResult;

extern const ViommuPtFormat viommu_pt_vtd_sl;
extern const ViommuPtFormat viommu_pt_x86_fl;
extern const ViommuPtFormat viommu_pt_amd_v1;

/*
 * Translates @iova for an access needing @perm (VIOMMU_PT_* bits; 0 for a
 * lookup that needs no permission). On VIOMMU_PT_OK, *@res describes the
 * whole page that holds @iova (so a caller may cache it); on a fault,
 * res->level and res->entry say where the walk stopped. Reads at most
 * cfg->levels entries.
 */
ViommuPtFault viommu_pt_walk(const ViommuPtConfig *cfg, uint64_t iova,
                             unsigned perm, ViommuPtResult *res);

/*
 * Called for each present leaf met by viommu_pt_for_each_leaf, in IOVA
 * order; res->iova and res->page_shift give the whole page, which may
 * start before or end after the range asked for. A non-zero return stops
 * the walk and is returned.
 */
typedef int (*ViommuPtLeafFn)(const ViommuPtResult *res, void *opaque);

/*
 * Visits the present leaves that meet [@start, @last] (inclusive), for
 * replay and for the notifier shadow. Absent entries and entries with
 * reserved bits are skipped (a walk of such an address faults); an entry
 * that cannot be read stops the visit with VIOMMU_PT_READ_FAILED in
 * *@fault. Work is bounded by the entries of the range that are read
 * (none for what lies outside it), and at most cfg->max_reads of them:
 * tables that point at one another cannot make it run long
 * (VIOMMU_PT_TOO_LARGE).
 * Returns the callback's non-zero value, or 0.
 */
int viommu_pt_for_each_leaf(const ViommuPtConfig *cfg, uint64_t start,
                            uint64_t last, ViommuPtLeafFn fn, void *opaque,
                            ViommuPtFault *fault);

/* The input address width a configuration translates (bits). */
unsigned viommu_pt_input_bits(const ViommuPtConfig *cfg);

#endif
