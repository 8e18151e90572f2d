/*
 * qemu-viommu: one bounded IOTLB for the VT-d and AMD-Vi models.
 *
 * A set-associative table: an entry's set is a hash of its domain, PASID,
 * page size and page number, so that every source ID's entry for one page
 * of a domain sits in one set (range invalidation probes those sets);
 * within a set, a full match also needs the source ID. Page sizes in use
 * are counted, and a lookup tries only those.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/iotlb.h"
#include "hw/viommu/pow2-split.h"
#include "hw/viommu/xlate-cache.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CAPACITY    (1u << 20)

#define TRACKED_PASIDS  8

typedef struct Slot {
    ViommuIotlbEntry e;
    uint64_t stamp;             /* last use; 0: the slot is free */
} Slot;

struct ViommuIotlb {
    Slot *slots;
    unsigned set_bits;
    unsigned capacity;
    unsigned count;
    uint64_t clock;
    uint64_t shifts;            /* bit n: some entry has page_shift n */
    unsigned shift_count[64];
    /*
     * The PASIDs of the entries held, so that an invalidation of every
     * PASID can probe each instead of scanning; entries of PASIDs beyond
     * the first TRACKED_PASIDS are counted in untracked.
     */
    uint32_t pasids[TRACKED_PASIDS];
    unsigned pasid_count[TRACKED_PASIDS];
    unsigned untracked;
    ViommuIotlbStats stats;
    ViommuXcSet *fast;          /* endpoints' fast paths, or NULL */
};

static unsigned set_of(const ViommuIotlb *t, uint16_t domain, uint32_t pasid,
                       uint64_t iova, unsigned shift)
{
    uint64_t h = (iova >> shift) * 0x9e3779b97f4a7c15ull;

    h ^= ((uint64_t)domain << 32 | pasid) * 0xc2b2ae3d27d4eb4full;
    h ^= shift;
    h ^= h >> 31;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return t->set_bits ? h >> (64 - t->set_bits) : 0;
}

static inline Slot *set_slots(const ViommuIotlb *t, unsigned set)
{
    return &t->slots[(size_t)set * VIOMMU_IOTLB_WAYS];
}

ViommuIotlb *viommu_iotlb_new(unsigned capacity)
{
    ViommuIotlb *t = calloc(1, sizeof(*t));
    unsigned cap = VIOMMU_IOTLB_WAYS;

    if (!t) {
        return NULL;
    }
    while (cap < capacity && cap < MAX_CAPACITY) {
        cap <<= 1;
    }
    t->capacity = cap;
    while ((VIOMMU_IOTLB_WAYS << t->set_bits) < cap) {
        t->set_bits++;
    }
    t->slots = calloc(cap, sizeof(Slot));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void viommu_iotlb_free(ViommuIotlb *t)
{
    if (t) {
        free(t->slots);
        free(t);
    }
}

unsigned viommu_iotlb_capacity(const ViommuIotlb *t)
{
    return t->capacity;
}

unsigned viommu_iotlb_count(const ViommuIotlb *t)
{
    return t->count;
}

const ViommuIotlbStats *viommu_iotlb_stats(const ViommuIotlb *t)
{
    return &t->stats;
}

/* The tracking slot of @pasid, or TRACKED_PASIDS. */
static unsigned pasid_slot(const ViommuIotlb *t, uint32_t pasid)
{
    unsigned i;

    for (i = 0; i < TRACKED_PASIDS; i++) {
        if (t->pasid_count[i] && t->pasids[i] == pasid) {
            return i;
        }
    }
    return TRACKED_PASIDS;
}

static void pasid_add(ViommuIotlb *t, uint32_t pasid)
{
    unsigned i = pasid_slot(t, pasid);

    for (unsigned j = 0; i == TRACKED_PASIDS && j < TRACKED_PASIDS; j++) {
        if (!t->pasid_count[j]) {
            i = j;
            t->pasids[i] = pasid;
        }
    }
    if (i == TRACKED_PASIDS) {
        t->untracked++;
    } else {
        t->pasid_count[i]++;
    }
}

static void pasid_remove(ViommuIotlb *t, uint32_t pasid)
{
    unsigned i = pasid_slot(t, pasid);

    if (i == TRACKED_PASIDS) {
        t->untracked--;
    } else {
        t->pasid_count[i]--;
    }
}

static void drop(ViommuIotlb *t, Slot *s)
{
    unsigned shift = s->e.page_shift;

    pasid_remove(t, s->e.pasid);
    s->stamp = 0;
    t->count--;
    if (!--t->shift_count[shift]) {
        t->shifts &= ~(1ull << shift);
    }
}

static bool same_page(const ViommuIotlbEntry *a, uint16_t domain,
                      uint32_t pasid, uint64_t iova, unsigned shift)
{
    return a->domain == domain && a->pasid == pasid && a->iova == iova &&
           a->page_shift == shift;
}

bool viommu_iotlb_lookup(ViommuIotlb *t, uint16_t sid, uint16_t domain,
                         uint32_t pasid, uint64_t iova, ViommuIotlbEntry *out)
{
    uint64_t shifts = t->shifts;

    while (shifts) {
        unsigned shift = __builtin_ctzll(shifts);
        uint64_t page = iova & ~viommu_low_mask(shift);
        Slot *s = set_slots(t, set_of(t, domain, pasid, page, shift));
        unsigned w;

        shifts &= shifts - 1;
        for (w = 0; w < VIOMMU_IOTLB_WAYS; w++) {
            if (s[w].stamp && s[w].e.sid == sid &&
                same_page(&s[w].e, domain, pasid, page, shift)) {
                s[w].stamp = ++t->clock;
                t->stats.hits++;
                *out = s[w].e;
                return true;
            }
        }
    }
    t->stats.misses++;
    return false;
}

void viommu_iotlb_insert(ViommuIotlb *t, const ViommuIotlbEntry *e)
{
    unsigned shift = e->page_shift < 12 ? 12 : e->page_shift;
    uint64_t page;
    Slot *s, *victim = NULL;
    unsigned w;

    if (shift > 63) {
        shift = 63;
    }
    page = e->iova & ~viommu_low_mask(shift);
    s = set_slots(t, set_of(t, e->domain, e->pasid, page, shift));

    for (w = 0; w < VIOMMU_IOTLB_WAYS; w++) {
        if (s[w].stamp && s[w].e.sid == e->sid &&
            same_page(&s[w].e, e->domain, e->pasid, page, shift)) {
            victim = &s[w];             /* the same key: replace it */
            break;
        }
        if (!victim || (victim->stamp && s[w].stamp < victim->stamp)) {
            victim = &s[w];             /* a free slot, or the oldest */
        }
    }
    if (victim->stamp) {
        if (w == VIOMMU_IOTLB_WAYS) {
            t->stats.evictions++;
        }
        drop(t, victim);
    }
    victim->e = *e;
    victim->e.page_shift = shift;
    victim->e.iova = page;
    victim->e.output &= ~viommu_low_mask(shift);
    victim->stamp = ++t->clock;
    t->count++;
    t->shift_count[shift]++;
    t->shifts |= 1ull << shift;
    pasid_add(t, e->pasid);
    t->stats.inserts++;
}

void viommu_iotlb_set_fast(ViommuIotlb *t, ViommuXcSet *set)
{
    t->fast = set;
}

void viommu_iotlb_flush(ViommuIotlb *t)
{
    if (t->fast) {
        viommu_xc_inv_all(t->fast);
    }
    t->stats.invalidated += t->count;
    memset(t->slots, 0, (size_t)t->capacity * sizeof(Slot));
    memset(t->shift_count, 0, sizeof(t->shift_count));
    memset(t->pasid_count, 0, sizeof(t->pasid_count));
    t->untracked = 0;
    t->count = 0;
    t->shifts = 0;
}

static bool pasid_matches(uint32_t filter, uint32_t pasid)
{
    return filter == VIOMMU_IOTLB_ANY_PASID || filter == pasid;
}

/* Pages of size 2^shift that meet [start, last], capped at @cap + 1. */
static uint64_t pages_in(uint64_t start, uint64_t last, unsigned shift,
                         uint64_t cap)
{
    uint64_t n = (last >> shift) - (start >> shift);

    return n >= cap ? cap + 1 : n + 1;
}

static unsigned probe_range(ViommuIotlb *t, uint16_t domain, uint32_t pasid,
                            uint64_t start, uint64_t last)
{
    uint64_t shifts = t->shifts;
    unsigned dropped = 0;

    while (shifts) {
        unsigned shift = __builtin_ctzll(shifts), w;
        uint64_t page = start & ~viommu_low_mask(shift), n;

        shifts &= shifts - 1;
        for (n = pages_in(start, last, shift, ~0ull); n; n--) {
            Slot *s = set_slots(t, set_of(t, domain, pasid, page, shift));
            for (w = 0; w < VIOMMU_IOTLB_WAYS; w++) {
                if (s[w].stamp &&
                    same_page(&s[w].e, domain, pasid, page, shift)) {
                    drop(t, &s[w]);
                    dropped++;
                }
            }
            page += 1ull << shift;
        }
    }
    return dropped;
}

/*
 * The PASIDs an invalidation of @pasid has to probe, into @out; false if
 * some entries' PASIDs are not tracked (then it scans).
 */
static bool probe_pasids(const ViommuIotlb *t, uint32_t pasid,
                         uint32_t out[TRACKED_PASIDS], unsigned *n)
{
    *n = 0;
    if (pasid != VIOMMU_IOTLB_ANY_PASID) {
        out[(*n)++] = pasid;
        return true;
    }
    for (unsigned i = 0; i < TRACKED_PASIDS; i++) {
        if (t->pasid_count[i]) {
            out[(*n)++] = t->pasids[i];
        }
    }
    return t->untracked == 0;
}

static unsigned scan_range(ViommuIotlb *t, uint16_t domain, uint32_t pasid,
                           uint64_t start, uint64_t last)
{
    unsigned dropped = 0, i;

    for (i = 0; i < t->capacity; i++) {
        Slot *s = &t->slots[i];
        if (s->stamp && s->e.domain == domain &&
            pasid_matches(pasid, s->e.pasid) && s->e.iova <= last &&
            (s->e.iova | viommu_low_mask(s->e.page_shift)) >= start) {
            drop(t, s);
            dropped++;
        }
    }
    return dropped;
}

unsigned viommu_iotlb_inv_range(ViommuIotlb *t, uint16_t domain,
                                uint32_t pasid, uint64_t start, uint64_t last)
{
    uint64_t probes = 0, budget = t->capacity / VIOMMU_IOTLB_WAYS, shifts;
    uint32_t pasids[TRACKED_PASIDS];
    unsigned dropped = 0, n, i;

    if (start > last) {
        return 0;
    }
    if (t->fast) {
        viommu_xc_inv_range(t->fast, domain, pasid, start, last);
    }
    if (probe_pasids(t, pasid, pasids, &n)) {
        for (shifts = t->shifts; shifts && probes <= budget;
             shifts &= shifts - 1) {
            probes += n * pages_in(start, last, __builtin_ctzll(shifts),
                                   budget);
        }
        if (probes <= budget) {
            for (i = 0; i < n; i++) {
                dropped += probe_range(t, domain, pasids[i], start, last);
            }
            t->stats.invalidated += dropped;
            return dropped;
        }
    }
    dropped = scan_range(t, domain, pasid, start, last);
    t->stats.invalidated += dropped;
    return dropped;
}

unsigned viommu_iotlb_inv_sid(ViommuIotlb *t, uint16_t sid)
{
    unsigned dropped = 0, i;

    if (t->fast) {
        viommu_xc_inv_sid(t->fast, sid);
    }
    for (i = 0; i < t->capacity; i++) {
        if (t->slots[i].stamp && t->slots[i].e.sid == sid) {
            drop(t, &t->slots[i]);
            dropped++;
        }
    }
    t->stats.invalidated += dropped;
    return dropped;
}
