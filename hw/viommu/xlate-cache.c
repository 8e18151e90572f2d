/*
 * qemu-viommu: the translate fast path, a per-endpoint translation cache
 * (see include/hw/viommu/xlate-cache.h).
 *
 * A slot is written as a sequence lock: seq goes odd, the fields are
 * stored, seq goes even (release). A reader loads seq (acquire), the
 * fields, then seq again after an acquire fence, and uses the copy only
 * if seq was even and did not move. Every field is accessed with relaxed
 * atomics so that the race a reader detects is not a data race.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/xlate-cache.h"

#include <stddef.h>
#include <string.h>

#define LOAD(p)         __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)     __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Where a removed endpoint points: its epoch matches no slot. */
static ViommuXcSet removed = { .epoch = UINT64_MAX };

static inline unsigned slot_of(uint64_t iova)
{
    return (iova >> 12) & (VIOMMU_XC_SLOTS - 1);
}

void viommu_xc_set_init(ViommuXcSet *set)
{
    set->epoch = 1;             /* an empty slot (epoch 0) never matches */
    set->head = NULL;
    set->count = 0;
}

void viommu_xc_add(ViommuXcSet *set, ViommuXc *xc, uint16_t sid)
{
    memset(xc->slot, 0, sizeof(xc->slot));
    xc->live = 0;
    xc->live_epoch = 0;
    xc->sid = sid;
    xc->set = set;
    xc->next = set->head;
    set->head = xc;
    set->count++;
}

void viommu_xc_remove(ViommuXc *xc)
{
    ViommuXc **p;

    if (!xc->set || xc->set == &removed) {
        return;
    }
    for (p = &xc->set->head; *p; p = &(*p)->next) {
        if (*p == xc) {
            *p = xc->next;
            xc->set->count--;
            break;
        }
    }
    xc->set = &removed;         /* a late reader still finds a set */
    xc->next = NULL;
}

bool viommu_xc_lookup(const ViommuXc *xc, uint64_t iova, unsigned perm,
                      ViommuXcHit *hit)
{
    const ViommuXcSlot *s = &xc->slot[slot_of(iova)];
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    uint64_t epoch, base, mask;

    if (seq & 1) {
        return false;
    }
    epoch = LOAD(&s->epoch);
    base = LOAD(&s->iova);
    mask = LOAD(&s->mask);
    hit->output = LOAD(&s->output);
    hit->perm = LOAD(&s->perm);
    hit->flags = LOAD(&s->flags);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (LOAD(&s->seq) != seq ||
        epoch != __atomic_load_n(&xc->set->epoch, __ATOMIC_ACQUIRE) ||
        (iova & ~mask) != base || (hit->perm & perm) != perm) {
        return false;
    }
    hit->iova = base;
    hit->mask = mask;
    return true;
}

/* Under the lock: stores @v into @s as one unit for readers. */
static void slot_store(ViommuXcSlot *s, const ViommuXcSlot *v)
{
    uint32_t seq = s->seq;

    STORE(&s->seq, seq + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    STORE(&s->pasid, v->pasid);
    STORE(&s->epoch, v->epoch);
    STORE(&s->iova, v->iova);
    STORE(&s->mask, v->mask);
    STORE(&s->output, v->output);
    STORE(&s->domain, v->domain);
    STORE(&s->perm, v->perm);
    STORE(&s->flags, v->flags);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static bool slot_live(const ViommuXcSet *set, const ViommuXcSlot *s)
{
    return s->epoch == set->epoch;
}

/* Whether @xc may hold live entries (if not, there is nothing to drop). */
static bool xc_busy(const ViommuXc *xc)
{
    return xc->live && xc->live_epoch == xc->set->epoch;
}

static void slot_clear(ViommuXc *xc, ViommuXcSlot *s)
{
    static const ViommuXcSlot empty;

    if (xc_busy(xc) && slot_live(xc->set, s)) {
        xc->live--;
    }
    slot_store(s, &empty);
}

void viommu_xc_fill(ViommuXc *xc, uint64_t iova, unsigned page_shift,
                    uint64_t output, unsigned perm, uint16_t domain,
                    uint32_t pasid, unsigned flags)
{
    ViommuXcSlot v = { 0 };

    if (!xc->set || xc->set == &removed || page_shift < 12 ||
        page_shift > 63 || !(perm & 3)) {
        return;
    }
    v.mask = (1ull << page_shift) - 1;
    v.iova = iova & ~v.mask;
    v.output = output & ~v.mask;
    v.epoch = xc->set->epoch;
    v.perm = perm & 3;
    v.flags = flags;
    v.domain = domain;
    v.pasid = pasid;
    if (xc->live_epoch != xc->set->epoch) {
        xc->live = 0;                   /* all died in viommu_xc_inv_all() */
        xc->live_epoch = xc->set->epoch;
    }
    if (!slot_live(xc->set, &xc->slot[slot_of(iova)])) {
        xc->live++;
    }
    slot_store(&xc->slot[slot_of(iova)], &v);
}

void viommu_xc_clear(ViommuXc *xc)
{
    for (unsigned i = 0; i < VIOMMU_XC_SLOTS; i++) {
        if (xc->slot[i].epoch) {
            slot_clear(xc, &xc->slot[i]);
        }
    }
}

void viommu_xc_inv_all(ViommuXcSet *set)
{
    __atomic_store_n(&set->epoch, set->epoch + 1, __ATOMIC_RELEASE);
}

unsigned viommu_xc_inv_range(ViommuXcSet *set, uint16_t domain,
                             uint32_t pasid, uint64_t start, uint64_t last)
{
    unsigned dropped = 0, i;
    ViommuXc *xc;

    if (start > last) {
        return 0;
    }
    for (xc = set->head; xc; xc = xc->next) {
        for (i = 0; xc_busy(xc) && i < VIOMMU_XC_SLOTS; i++) {
            ViommuXcSlot *s = &xc->slot[i];
            if (slot_live(set, s) && s->domain == domain &&
                (pasid == VIOMMU_XC_ANY_PASID || pasid == s->pasid) &&
                s->iova <= last && (s->iova | s->mask) >= start) {
                slot_clear(xc, s);
                dropped++;
            }
        }
    }
    return dropped;
}

unsigned viommu_xc_inv_sid(ViommuXcSet *set, uint16_t sid)
{
    unsigned dropped = 0, i;
    ViommuXc *xc;

    for (xc = set->head; xc; xc = xc->next) {
        if (xc->sid != sid) {
            continue;
        }
        for (i = 0; xc_busy(xc) && i < VIOMMU_XC_SLOTS; i++) {
            if (slot_live(set, &xc->slot[i])) {
                slot_clear(xc, &xc->slot[i]);
                dropped++;
            }
        }
    }
    return dropped;
}
