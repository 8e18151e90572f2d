/*
 * qemu-viommu: unit tests of the bounded IOTLB (hw/viommu/iotlb.c): hits
 * for every page size, the key's parts, each kind of invalidation, and
 * random operations against a model, where a hit must always be what the
 * model still holds and eviction (not flushing) makes room.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/iotlb.h"
#include "unit.h"

#include <string.h>

static ViommuIotlbEntry entry(uint16_t sid, uint16_t domain, uint32_t pasid,
                              uint64_t iova, unsigned shift, uint64_t output)
{
    return (ViommuIotlbEntry) {
        .sid = sid, .domain = domain, .pasid = pasid, .iova = iova,
        .page_shift = shift, .output = output, .perm = 3,
    };
}

/* A lookup's copy, or NULL on a miss. */
static const ViommuIotlbEntry *look(ViommuIotlb *t, uint16_t sid,
                                    uint16_t domain, uint32_t pasid,
                                    uint64_t iova)
{
    static ViommuIotlbEntry copy;

    return viommu_iotlb_lookup(t, sid, domain, pasid, iova, &copy) ? &copy
                                                                   : NULL;
}

static void test_hit_and_key(void)
{
    ViommuIotlb *t = viommu_iotlb_new(64);
    ViommuIotlbEntry e = entry(0x10, 1, VIOMMU_IOTLB_NO_PASID, 0x1234000,
                               12, 0x55000);
    const ViommuIotlbEntry *hit;

    CHECK_EQ(viommu_iotlb_capacity(t), 64);
    viommu_iotlb_insert(t, &e);
    hit = look(t, 0x10, 1, VIOMMU_IOTLB_NO_PASID, 0x1234abc);
    CHECK(hit != NULL);
    CHECK_EQ(hit ? hit->output : 0, 0x55000);
    /* another source ID, domain, PASID or page: miss */
    CHECK(!look(t, 0x11, 1, VIOMMU_IOTLB_NO_PASID, 0x1234000));
    CHECK(!look(t, 0x10, 2, VIOMMU_IOTLB_NO_PASID, 0x1234000));
    CHECK(!look(t, 0x10, 1, 5, 0x1234000));
    CHECK(!look(t, 0x10, 1, VIOMMU_IOTLB_NO_PASID, 0x1235000));
    /* large pages: 2 MiB and 1 GiB, unaligned input aligned down */
    e = entry(0x10, 1, 7, 0x40212345, 21, 0x80000000);
    viommu_iotlb_insert(t, &e);
    e = entry(0x10, 1, 7, 0x80000000, 30, 0x1c0000000ull);
    viommu_iotlb_insert(t, &e);
    hit = look(t, 0x10, 1, 7, 0x403fffff);
    CHECK(hit && hit->iova == 0x40200000 && hit->output == 0x80000000);
    hit = look(t, 0x10, 1, 7, 0xbfffffff);
    CHECK(hit && hit->page_shift == 30);
    CHECK_EQ(viommu_iotlb_count(t), 3);
    /* the same key again replaces, does not add */
    e = entry(0x10, 1, 7, 0x80000000, 30, 0x200000000ull);
    viommu_iotlb_insert(t, &e);
    CHECK_EQ(viommu_iotlb_count(t), 3);
    hit = look(t, 0x10, 1, 7, 0x80000000);
    CHECK(hit && hit->output == 0x200000000ull);
    CHECK_EQ(viommu_iotlb_stats(t)->hits, 4);
    viommu_iotlb_free(t);
}

static void test_invalidation_scopes(void)
{
    ViommuIotlb *t = viommu_iotlb_new(256);
    ViommuIotlbEntry e;
    unsigned i;

    for (i = 0; i < 16; i++) {
        e = entry(i % 4, i % 2 ? 2 : 1, i % 3 ? VIOMMU_IOTLB_NO_PASID : 9,
                  (uint64_t)i << 12, 12, 0x100000 + ((uint64_t)i << 12));
        viommu_iotlb_insert(t, &e);
    }
    e = entry(0, 1, VIOMMU_IOTLB_NO_PASID, 0x200000, 21, 0x400000);
    viommu_iotlb_insert(t, &e);
    CHECK_EQ(viommu_iotlb_count(t), 17);
    /* PSI: domain 1, no PASID, pages 0..3: entries 0 (pasid 9) stays */
    CHECK_EQ(viommu_iotlb_inv_range(t, 1, VIOMMU_IOTLB_NO_PASID, 0, 0x3fff), 1);
    CHECK(!look(t, 2, 1, VIOMMU_IOTLB_NO_PASID, 0x2000));
    CHECK(look(t, 0, 1, 9, 0x0));
    CHECK(look(t, 1, 2, VIOMMU_IOTLB_NO_PASID, 0x1000));
    /* a range that meets a 2 MiB page only by its last byte drops it */
    CHECK_EQ(viommu_iotlb_inv_range(t, 1, VIOMMU_IOTLB_NO_PASID, 0x3ff000,
                                    0x3fffff), 1);
    /* PASID-selective within a domain */
    CHECK_EQ(viommu_iotlb_inv_range(t, 1, 9, 0, ~0ull), 3);    /* 0, 6, 12 */
    /* domain-selective, every PASID */
    CHECK_EQ(viommu_iotlb_inv_range(t, 2, VIOMMU_IOTLB_ANY_PASID, 0, ~0ull), 8);
    CHECK_EQ(viommu_iotlb_count(t), 4);                       /* 4 8 10 14 */
    /* by source ID */
    CHECK_EQ(viommu_iotlb_inv_sid(t, 0), 2);                  /* 4 and 8 */
    CHECK_EQ(viommu_iotlb_count(t), 2);
    viommu_iotlb_flush(t);
    CHECK_EQ(viommu_iotlb_count(t), 0);
    CHECK(!look(t, 2, 1, VIOMMU_IOTLB_NO_PASID, 0xe000));
    viommu_iotlb_free(t);
}

static void test_eviction_not_flush(void)
{
    ViommuIotlb *t = viommu_iotlb_new(1024);
    ViommuIotlbEntry e;
    unsigned i, hits = 0;

    for (i = 0; i < 4096; i++) {
        e = entry(1, 1, VIOMMU_IOTLB_NO_PASID, (uint64_t)i << 12, 12, i);
        viommu_iotlb_insert(t, &e);
        CHECK(viommu_iotlb_count(t) <= 1024);
    }
    CHECK_EQ(viommu_iotlb_stats(t)->evictions, 4096 - viommu_iotlb_count(t));
    /* the most recent entries are still there */
    for (i = 4096 - 256; i < 4096; i++) {
        hits += look(t, 1, 1, VIOMMU_IOTLB_NO_PASID,
                                    (uint64_t)i << 12) != NULL;
    }
    CHECK(hits > 200);
    CHECK(viommu_iotlb_count(t) > 900);
    /* a recently used entry survives a stream of new ones in its set */
    viommu_iotlb_free(t);
}

/* ---- against a model ---- */

#define KEYS 512

typedef struct Model {
    bool valid;
    ViommuIotlbEntry e;
} Model;

static Model model[KEYS];
/*
 * How many PASIDs the random entries use besides "none": few (each probed
 * by an invalidation of every PASID) or more than the IOTLB tracks (then
 * it scans).
 */
static unsigned pasid_spread = 2;

/* A key space with overlap between sizes, sources, domains and PASIDs. */
static ViommuIotlbEntry random_entry(unsigned k)
{
    static const unsigned shifts[] = { 12, 12, 12, 21, 30 };
    unsigned shift = shifts[k % 5];

    return entry(k % 3, (k / 3) % 3,
                 k % 7 ? VIOMMU_IOTLB_NO_PASID : (k / 7) % pasid_spread,
                 ((uint64_t)(k / 5) << shift) & ((1ull << 34) - 1), shift,
                 unit_rand() << shift);
}

static bool model_meets(const ViommuIotlbEntry *e, uint64_t start,
                        uint64_t last)
{
    return e->iova <= last && e->iova + (1ull << e->page_shift) - 1 >= start;
}

static void test_against_model(void)
{
    ViommuIotlb *t = viommu_iotlb_new(128);
    unsigned step, k;
    unit_seed(0x2545f4914f6cdd1dull);

    memset(model, 0, sizeof(model));
    for (step = 0; step < 200000; step++) {
        unsigned op = unit_rand() % 100;
        k = unit_rand() % KEYS;
        if (op < 50) {
            ViommuIotlbEntry e = random_entry(k);
            /* the model keeps one translation per page: drop what overlaps */
            unsigned j;
            for (j = 0; j < KEYS; j++) {
                if (model[j].valid && model[j].e.sid == e.sid &&
                    model[j].e.domain == e.domain &&
                    model[j].e.pasid == e.pasid &&
                    model_meets(&model[j].e, e.iova,
                                e.iova + (1ull << e.page_shift) - 1)) {
                    model[j].valid = false;
                    viommu_iotlb_inv_range(t, e.domain, e.pasid, e.iova,
                                           e.iova + (1ull << e.page_shift) - 1);
                }
            }
            viommu_iotlb_insert(t, &e);
            model[k].valid = true;
            model[k].e = e;
        } else if (op < 85) {
            ViommuIotlbEntry e = random_entry(k);
            uint64_t off = unit_rand() & ((1ull << e.page_shift) - 1);
            uint64_t iova = e.iova + off;
            const ViommuIotlbEntry *hit =
                look(t, e.sid, e.domain, e.pasid, iova);
            unsigned j;
            bool found = false;
            for (j = 0; j < KEYS && hit; j++) {
                if (model[j].valid && model[j].e.sid == hit->sid &&
                    model[j].e.domain == hit->domain &&
                    model[j].e.pasid == hit->pasid &&
                    model[j].e.iova == hit->iova &&
                    model[j].e.page_shift == hit->page_shift &&
                    model[j].e.output == hit->output) {
                    found = true;
                }
            }
            if (hit && !found) {
                fprintf(stderr, "step %u: stale hit at 0x%llx (sid %u)\n",
                        step, (unsigned long long)hit->iova, hit->sid);
                CHECK(0);
                break;
            }
            CHECK(!hit || (hit->sid == e.sid && hit->domain == e.domain &&
                           hit->pasid == e.pasid && iova >= hit->iova &&
                           iova - hit->iova < (1ull << hit->page_shift)));
        } else if (op < 97) {
            uint16_t domain = unit_rand() % 3;
            uint32_t pasid = unit_rand() % 3 ? VIOMMU_IOTLB_ANY_PASID
                             : unit_rand() % 2 ? VIOMMU_IOTLB_NO_PASID : 1;
            uint64_t start = unit_rand() % (1ull << 34), last;
            unsigned j;
            unsigned bits = 12 + unit_rand() % 22;

            last = unit_rand() % 4 ? start + unit_rand() % (1ull << bits)
                             : ~0ull;
            viommu_iotlb_inv_range(t, domain, pasid, start, last);
            for (j = 0; j < KEYS; j++) {
                if (model[j].valid && model[j].e.domain == domain &&
                    (pasid == VIOMMU_IOTLB_ANY_PASID ||
                     pasid == model[j].e.pasid) &&
                    model_meets(&model[j].e, start, last)) {
                    model[j].valid = false;
                }
            }
        } else if (op < 99) {
            uint16_t sid = unit_rand() % 3;
            viommu_iotlb_inv_sid(t, sid);
            for (k = 0; k < KEYS; k++) {
                if (model[k].e.sid == sid) {
                    model[k].valid = false;
                }
            }
        } else {
            viommu_iotlb_flush(t);
            memset(model, 0, sizeof(model));
        }
        CHECK(viommu_iotlb_count(t) <= viommu_iotlb_capacity(t));
    }
    CHECK(viommu_iotlb_stats(t)->hits > 1000);
    CHECK(viommu_iotlb_stats(t)->evictions > 0);
    viommu_iotlb_free(t);
}

int main(void)
{
    RUN(test_hit_and_key);
    RUN(test_invalidation_scopes);
    RUN(test_eviction_not_flush);
    RUN(test_against_model);
    pasid_spread = 12;          /* 13 PASIDs: more than the IOTLB tracks */
    RUN(test_against_model);
    return unit_report("test-iotlb");
}
