/*
 * qemu-viommu: unit tests of the translate fast path (hw/viommu/
 * xlate-cache.c): hits within the page and rights, each invalidation's
 * scope, the IOTLB's invalidations reaching it, a removed endpoint, and a
 * reader thread racing a writer that must never see half an entry.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/xlate-cache.h"
#include "hw/viommu/iotlb.h"
#include "unit.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define RD 1
#define WR 2
#define NOP VIOMMU_IOTLB_NO_PASID

static ViommuXcSet set;
static ViommuXc a, b;

static void fresh(void)
{
    viommu_xc_set_init(&set);
    viommu_xc_add(&set, &a, 0x10);
    viommu_xc_add(&set, &b, 0x18);
}

static bool hits(const ViommuXc *xc, uint64_t iova, unsigned perm,
                 uint64_t output)
{
    ViommuXcHit h;

    return viommu_xc_lookup(xc, iova, perm, &h) &&
           h.output + (iova & h.mask) == output;
}

static void test_hit_page_and_rights(void)
{
    ViommuXcHit h;

    fresh();
    CHECK(!viommu_xc_lookup(&a, 0x5000, RD, &h));
    viommu_xc_fill(&a, 0x5123, 12, 0x9000, RD, 1, NOP, 7);
    CHECK(hits(&a, 0x5abc, RD, 0x9abc));
    CHECK(hits(&a, 0x5000, 0, 0x9000));
    CHECK(!hits(&a, 0x5000, WR, 0x9000));      /* read-only page */
    CHECK(!viommu_xc_lookup(&a, 0x6000, RD, &h));
    CHECK(!viommu_xc_lookup(&b, 0x5000, RD, &h));     /* other endpoint */
    CHECK(viommu_xc_lookup(&a, 0x5fff, RD, &h) && h.flags == 7 &&
          h.iova == 0x5000 && h.mask == 0xfff);
    /* a 2 MiB page hits from its own slot; other 4 KiB slots miss */
    viommu_xc_fill(&a, 0x40200000, 21, 0x80000000, RD | WR, 1, NOP, 0);
    CHECK(hits(&a, 0x40200010, WR, 0x80000010));
    CHECK(!viommu_xc_lookup(&a, 0x40201000, RD, &h));
    viommu_xc_fill(&a, 0x40201000, 21, 0x80000000, RD | WR, 1, NOP, 0);
    CHECK(hits(&a, 0x40201008, RD | WR, 0x80001008));
    /* what is not cached: no rights, odd page sizes */
    viommu_xc_fill(&a, 0x7000, 12, 0x7000, 0, 1, NOP, 0);
    viommu_xc_fill(&b, 0x7000, 11, 0x7000, RD, 1, NOP, 0);
    CHECK(!viommu_xc_lookup(&a, 0x7000, 0, &h));
    CHECK(!viommu_xc_lookup(&b, 0x7000, 0, &h));
    /* the same slot holds one page: the newer one */
    viommu_xc_fill(&a, 0x5000 + VIOMMU_XC_SLOTS * 0x1000ull, 12, 0xa000, RD,
                   1, NOP, 0);
    CHECK(!viommu_xc_lookup(&a, 0x5000, RD, &h));
}

static void test_invalidation_scope(void)
{
    ViommuXcHit h;

    fresh();
    viommu_xc_fill(&a, 0x1000, 12, 0x11000, RD, 1, NOP, 0);
    viommu_xc_fill(&a, 0x2000, 12, 0x12000, RD, 1, 5, 0);
    viommu_xc_fill(&a, 0x3000, 12, 0x13000, RD, 2, NOP, 0);
    viommu_xc_fill(&b, 0x1000, 12, 0x21000, RD, 1, NOP, 0);
    viommu_xc_fill(&b, 0x200000, 21, 0x400000, RD, 1, NOP, 0);
    /* domain 1, one page, no PASID: both endpoints' entries of it */
    CHECK_EQ(viommu_xc_inv_range(&set, 1, NOP, 0x1000, 0x1fff), 2);
    CHECK(!viommu_xc_lookup(&a, 0x1000, RD, &h));
    CHECK(!viommu_xc_lookup(&b, 0x1000, RD, &h));
    CHECK(hits(&a, 0x2000, RD, 0x12000));      /* PASID 5 stays */
    CHECK(hits(&a, 0x3000, RD, 0x13000));      /* domain 2 stays */
    /* a range that touches a large page's last byte drops it */
    CHECK_EQ(viommu_xc_inv_range(&set, 1, VIOMMU_XC_ANY_PASID, 0x3fffff,
                                 0x3fffff), 1);
    CHECK(!viommu_xc_lookup(&b, 0x200000, RD, &h));
    CHECK_EQ(viommu_xc_inv_range(&set, 1, VIOMMU_XC_ANY_PASID, 5, 4), 0);
    CHECK_EQ(viommu_xc_inv_range(&set, 1, VIOMMU_XC_ANY_PASID, 0, ~0ull), 1);
    CHECK(!viommu_xc_lookup(&a, 0x2000, RD, &h));
    /* a source ID: only its endpoint */
    viommu_xc_fill(&b, 0x1000, 12, 0x21000, RD, 2, NOP, 0);
    CHECK_EQ(viommu_xc_inv_sid(&set, 0x18), 1);
    CHECK(!viommu_xc_lookup(&b, 0x1000, RD, &h));
    CHECK(hits(&a, 0x3000, RD, 0x13000));
    /* everything, then refilled entries hit again */
    viommu_xc_inv_all(&set);
    CHECK(!viommu_xc_lookup(&a, 0x3000, RD, &h));
    viommu_xc_fill(&a, 0x3000, 12, 0x33000, RD, 2, NOP, 0);
    CHECK(hits(&a, 0x3000, RD, 0x33000));
}

static void test_iotlb_invalidates_fast_path(void)
{
    ViommuIotlb *t = viommu_iotlb_new(64);
    ViommuXcHit h;

    fresh();
    viommu_iotlb_set_fast(t, &set);
    viommu_xc_fill(&a, 0x1000, 12, 0x11000, RD, 1, NOP, 0);
    viommu_xc_fill(&a, 0x2000, 12, 0x12000, RD, 1, NOP, 0);
    viommu_xc_fill(&b, 0x3000, 12, 0x13000, RD, 3, NOP, 0);
    viommu_iotlb_inv_range(t, 1, VIOMMU_IOTLB_ANY_PASID, 0x1000, 0x1000);
    CHECK(!viommu_xc_lookup(&a, 0x1000, RD, &h));
    CHECK(viommu_xc_lookup(&a, 0x2000, RD, &h));
    viommu_iotlb_inv_sid(t, 0x18);
    CHECK(!viommu_xc_lookup(&b, 0x3000, RD, &h));
    CHECK(viommu_xc_lookup(&a, 0x2000, RD, &h));
    viommu_iotlb_flush(t);
    CHECK(!viommu_xc_lookup(&a, 0x2000, RD, &h));
    viommu_iotlb_free(t);
}

static void test_removed_endpoint(void)
{
    ViommuXcHit h;

    fresh();
    viommu_xc_fill(&a, 0x1000, 12, 0x11000, RD, 1, NOP, 0);
    viommu_xc_remove(&a);
    CHECK_EQ(set.count, 1);
    CHECK(!viommu_xc_lookup(&a, 0x1000, RD, &h));
    viommu_xc_fill(&a, 0x1000, 12, 0x11000, RD, 1, NOP, 0);
    CHECK(!viommu_xc_lookup(&a, 0x1000, RD, &h));
    viommu_xc_remove(&a);                       /* twice: no-op */
    CHECK_EQ(viommu_xc_inv_sid(&set, 0x10), 0);
    viommu_xc_remove(&b);
    CHECK(set.head == NULL);
}

/*
 * The writer fills one slot over and over with entries whose output,
 * rights and flags all derive from one counter, invalidating in between;
 * a reader that ever sees parts of two entries fails.
 */
#define RACE_ROUNDS 200000
/* flags between the two threads, read and written with __atomic */
static int race_done, race_started;
static unsigned race_torn, race_hits;

static void *race_reader(void *opaque)
{
    ViommuXcHit h;

    __atomic_store_n(&race_started, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) {
        if (viommu_xc_lookup(&a, 0x5000, 0, &h)) {
            uint64_t n = h.output >> 12;
            race_hits++;
            if (h.iova != 0x5000 || (n & 0xff) != h.flags ||
                ((n & 1) ? RD | WR : RD) != h.perm || h.mask != 0xfff) {
                race_torn++;
            }
        }
    }
    return NULL;
}

static void test_reader_never_sees_half_an_entry(void)
{
    pthread_t th;
    uint64_t n;

    fresh();
    race_done = race_started = 0;
    pthread_create(&th, NULL, race_reader, NULL);
    while (!__atomic_load_n(&race_started, __ATOMIC_ACQUIRE)) {
        sched_yield();
    }
    for (n = 1; n <= RACE_ROUNDS; n++) {
        ViommuXcHit h;
        viommu_xc_fill(&a, 0x5000, 12, n << 12, (n & 1) ? RD | WR : RD, 1,
                       NOP, n & 0xff);
        for (int spin = 0; spin < 16; spin++) {
            viommu_xc_lookup(&b, 0x5000, 0, &h);   /* let the reader in */
        }
        if (!(n % 7)) {
            viommu_xc_inv_range(&set, 1, NOP, 0x5000, 0x5fff);
        }
    }
    __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    CHECK_EQ(race_torn, 0);
    CHECK(race_hits > 0);
    printf("# race: %u hits, none torn\n", race_hits);
}

int main(void)
{
    RUN(test_hit_page_and_rights);
    RUN(test_invalidation_scope);
    RUN(test_iotlb_invalidates_fast_path);
    RUN(test_removed_endpoint);
    RUN(test_reader_never_sees_half_an_entry);
    return unit_report("xlate-cache");
}
