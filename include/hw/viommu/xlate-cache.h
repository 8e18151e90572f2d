/*
 * qemu-viommu: the translate fast path, a per-endpoint translation cache.
 *
 * Each endpoint (one requester ID with the PASID its IOMMUMemoryRegion
 * translates for) keeps its VIOMMU_XC_SLOTS most recent translations in a
 * direct-mapped table (slot by 4 KiB page number). A lookup takes no lock
 * and walks nothing: on a hit it costs two sequence loads, an epoch
 * compare and a bounds check.
 *
 * The IOMMU model fills an endpoint's cache with a translation it made
 * under its own lock, and invalidates through the set (one per IOMMU)
 * from the same events that invalidate its IOTLB: everything (a global
 * invalidation, reset, a new root), a domain's IOVA range (optionally one
 * PASID), or one source ID (its context or device table entry changed).
 * The shared IOTLB does this itself once it is given the set
 * (viommu_iotlb_set_fast()); virtio-iommu calls the set directly.
 *
 * Concurrency: writers (fill, every invalidation, adding and removing an
 * endpoint) hold the model's lock; any number of readers run without it.
 * Each slot is a sequence lock: a reader that races with a writer misses
 * (and takes the model's slow path), it never sees half an entry. Once an
 * invalidation has returned, no lookup that starts after it hits what it
 * dropped. Faults are never cached.
 *
 * Independent of QEMU (GCC/Clang __atomic builtins only).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_XLATE_CACHE_H
#define HW_VIOMMU_XLATE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define VIOMMU_XC_SLOTS     64u                 /* a power of two */
#define VIOMMU_XC_NO_PASID  0xffffffffu         /* = VIOMMU_IOTLB_NO_PASID */
#define VIOMMU_XC_ANY_PASID 0xfffffffeu         /* = VIOMMU_IOTLB_ANY_PASID */

/* One cached translation: IOVA [iova, iova + mask] -> [output, ...]. */
typedef struct ViommuXcSlot {
    uint32_t seq;               /* odd while a writer changes the slot */
    uint32_t pasid;
    uint64_t epoch;             /* the set's epoch when filled; 0: empty */
    uint64_t iova;              /* page base */
    uint64_t mask;              /* page size - 1 (4 KiB .. 2^63) */
    uint64_t output;            /* page base */
    uint16_t domain;
    uint8_t perm;               /* VIOMMU_PT_READ | VIOMMU_PT_WRITE */
    uint8_t flags;              /* the model's own bits, as in its IOTLB */
} ViommuXcSlot;

typedef struct ViommuXc ViommuXc;

/* The endpoints of one IOMMU. Zeroed, then viommu_xc_set_init(). */
typedef struct ViommuXcSet {
    uint64_t epoch;             /* bumped by viommu_xc_inv_all() */
    ViommuXc *head;
    unsigned count;
} ViommuXcSet;

/* One endpoint's cache, embedded in the model's address-space state. */
struct ViommuXc {
    ViommuXcSet *set;
    ViommuXc *next;
    uint16_t sid;               /* source ID: bus << 8 | devfn */
    /* slots live in epoch live_epoch (writers only): empty ones are skipped */
    unsigned live;
    uint64_t live_epoch;
    ViommuXcSlot slot[VIOMMU_XC_SLOTS];
};

/* A hit: the page that holds the IOVA looked up. */
typedef struct ViommuXcHit {
    uint64_t iova;              /* page base */
    uint64_t mask;              /* page size - 1 */
    uint64_t output;            /* page base */
    uint8_t perm;
    uint8_t flags;
} ViommuXcHit;

void viommu_xc_set_init(ViommuXcSet *set);

/* Adds @xc (any contents) to @set, empty, for source ID @sid. */
void viommu_xc_add(ViommuXcSet *set, ViommuXc *xc, uint16_t sid);

/*
 * Takes @xc out of its set (no-op if it is in none); it misses from then
 * on, and is not filled.
 */
void viommu_xc_remove(ViommuXc *xc);

/*
 * Lock-free: the cached page of @xc that holds @iova and grants every
 * right in @perm (VIOMMU_PT_READ/WRITE; 0: any) into *@hit. False on a
 * miss, including a race with a writer.
 */
bool viommu_xc_lookup(const ViommuXc *xc, uint64_t iova, unsigned perm,
                      ViommuXcHit *hit);

/*
 * Under the model's lock: caches the translation of the 2^@page_shift
 * page at @iova (aligned down) to @output (aligned down), for @domain and
 * @pasid (VIOMMU_XC_NO_PASID for requests without one). Page shifts
 * outside 12..63 and @perm 0 are not cached.
 */
void viommu_xc_fill(ViommuXc *xc, uint64_t iova, unsigned page_shift,
                    uint64_t output, unsigned perm, uint16_t domain,
                    uint32_t pasid, unsigned flags);

/* Under the model's lock: every entry of @xc. */
void viommu_xc_clear(ViommuXc *xc);

/* Under the model's lock: every endpoint's every entry, in O(1). */
void viommu_xc_inv_all(ViommuXcSet *set);

/*
 * Under the model's lock: the entries of @domain and @pasid
 * (VIOMMU_XC_ANY_PASID: all) that meet IOVAs [@start, @last], in every
 * endpoint. Returns how many were dropped. An endpoint with nothing live
 * costs O(1), so that invalidating a million mappings one by one stays
 * cheap.
 */
unsigned viommu_xc_inv_range(ViommuXcSet *set, uint16_t domain,
                             uint32_t pasid, uint64_t start, uint64_t last);

/* Under the model's lock: every entry of the endpoints of source ID @sid. */
unsigned viommu_xc_inv_sid(ViommuXcSet *set, uint16_t sid);

#endif
