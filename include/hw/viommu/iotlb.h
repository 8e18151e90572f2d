/*
 * qemu-viommu: one bounded IOTLB for the VT-d and AMD-Vi models.
 *
 * Caches translations (the pages of hw/viommu/pt-walk.h) keyed by source
 * ID (requester ID), PASID, domain and the IOVA page, with invalidation as
 * both specifications scope it: global, domain (VT-d 6.5.2.4 DSI, AMD
 * INVALIDATE_IOMMU_PAGES with all pages), PASID within a domain, a page
 * range (VT-d PSI with its address mask, AMD's S-bit ranges) and a source
 * ID (a context or device table entry changed). When a set is full the
 * least recently used entry of that set is evicted: the cache never flushes
 * everything because it is full.
 *
 * Independent of QEMU; not thread-safe (the device model's lock covers it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_IOTLB_H
#define HW_VIOMMU_IOTLB_H

#include <stdbool.h>
#include <stdint.h>

#define VIOMMU_IOTLB_NO_PASID   0xffffffffu     /* requests without PASID */
#define VIOMMU_IOTLB_ANY_PASID  0xfffffffeu     /* invalidation: every PASID */
#define VIOMMU_IOTLB_WAYS       8u

/* One cached page: IOVA [iova, iova + 2^page_shift) -> output. */
typedef struct ViommuIotlbEntry {
    uint64_t iova;              /* page aligned */
    uint64_t output;            /* page aligned */
    uint32_t pasid;             /* or VIOMMU_IOTLB_NO_PASID */
    uint16_t sid;               /* source ID: bus << 8 | devfn */
    uint16_t domain;            /* VT-d DID, AMD DomainID */
    uint8_t page_shift;         /* 12 .. 63 */
    uint8_t perm;               /* VIOMMU_PT_READ | VIOMMU_PT_WRITE | ... */
    uint8_t flags;              /* model's own bits (VT-d SNP, ...) */
} ViommuIotlbEntry;

typedef struct ViommuIotlbStats {
    uint64_t hits;
    uint64_t misses;
    uint64_t inserts;
    uint64_t evictions;         /* entries pushed out by a full set */
    uint64_t invalidated;       /* entries dropped by invalidations */
} ViommuIotlbStats;

typedef struct ViommuIotlb ViommuIotlb;

/*
 * A cache of at least @capacity entries (rounded up to a power of two, in
 * sets of VIOMMU_IOTLB_WAYS; at most 2^20). Returns NULL if out of memory.
 */
ViommuIotlb *viommu_iotlb_new(unsigned capacity);
void viommu_iotlb_free(ViommuIotlb *t);
unsigned viommu_iotlb_capacity(const ViommuIotlb *t);
unsigned viommu_iotlb_count(const ViommuIotlb *t);
const ViommuIotlbStats *viommu_iotlb_stats(const ViommuIotlb *t);

/*
 * Copies the cached page that holds @iova for (@sid, @domain, @pasid)
 * into *@out and returns true, or returns false. The model knows the
 * domain from its context (or device table) entry before it looks here;
 * entries are placed by domain, PASID and page so that an invalidation of
 * a few pages of a domain probes, not scans. A lookup updates the entry's
 * age: the caller holds the lock that covers the cache.
 */
bool viommu_iotlb_lookup(ViommuIotlb *t, uint16_t sid, uint16_t domain,
                         uint32_t pasid, uint64_t iova, ViommuIotlbEntry *out);

/*
 * Caches @e (its iova and output are aligned down to its page), replacing
 * an entry with the same key, or the least recently used of its set.
 */
void viommu_iotlb_insert(ViommuIotlb *t, const ViommuIotlbEntry *e);

typedef struct ViommuXcSet ViommuXcSet;

/*
 * From now on every invalidation of @t invalidates the same entries in
 * the endpoints' translation caches of @set (hw/viommu/xlate-cache.h)
 * too: the fast path dies with the IOTLB entries it came from. NULL: none.
 */
void viommu_iotlb_set_fast(ViommuIotlb *t, ViommuXcSet *set);

/* Drops every entry. */
void viommu_iotlb_flush(ViommuIotlb *t);

/*
 * Drops the entries of @domain with @pasid (VIOMMU_IOTLB_ANY_PASID: all)
 * whose page meets [@start, @last] (inclusive; 0 and ~0: the whole domain).
 * A range of few pages is probed page by page, a larger one scanned.
 * Returns the number of entries dropped.
 */
unsigned viommu_iotlb_inv_range(ViommuIotlb *t, uint16_t domain,
                                uint32_t pasid, uint64_t start, uint64_t last);

/* Drops every entry of source ID @sid (its context or DTE changed). */
unsigned viommu_iotlb_inv_sid(ViommuIotlb *t, uint16_t sid);

#endif
