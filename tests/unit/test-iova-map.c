/*
 * qemu-viommu: unit tests of the IOVA mapping store.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/iova-map.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static IovaMapping mk(uint64_t s, uint64_t e, uint64_t p)
{
    return (IovaMapping){ .virt_start = s, .virt_end = e, .phys_start = p,
                          .flags = 3 };
}

static int count_cb(const IovaMapping *m, void *opaque)
{
    (*(int *)opaque)++;
    return 0;
}

static void test_insert_lookup(void)
{
    IovaMap *map = iova_map_new(0);
    IovaMapping a = mk(0x1000, 0x1fff, 0xa000), b = mk(0x3000, 0x4fff, 0xb000);

    CHECK_EQ(iova_map_insert(map, &a), IOVA_MAP_OK);
    CHECK_EQ(iova_map_insert(map, &b), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 2);
    CHECK(iova_map_lookup(map, 0xfff) == NULL);
    CHECK_EQ(iova_map_lookup(map, 0x1000)->phys_start, 0xa000);
    CHECK_EQ(iova_map_lookup(map, 0x1fff)->phys_start, 0xa000);
    CHECK(iova_map_lookup(map, 0x2000) == NULL);
    CHECK_EQ(iova_map_lookup(map, 0x4abc)->phys_start, 0xb000);
    iova_map_free(map);
}

static void test_overlap_rejected(void)
{
    IovaMap *map = iova_map_new(0);
    IovaMapping a = mk(0x1000, 0x1fff, 0), c;

    CHECK_EQ(iova_map_insert(map, &a), IOVA_MAP_OK);
    c = mk(0x1fff, 0x2fff, 0);
    CHECK_EQ(iova_map_insert(map, &c), IOVA_MAP_OVERLAP);
    c = mk(0, 0x1000, 0);
    CHECK_EQ(iova_map_insert(map, &c), IOVA_MAP_OVERLAP);
    c = mk(0, UINT64_MAX, 0);
    CHECK_EQ(iova_map_insert(map, &c), IOVA_MAP_OVERLAP);
    c = mk(0x2000, 0x2fff, 0);
    CHECK_EQ(iova_map_insert(map, &c), IOVA_MAP_OK);
    c = mk(10, 5, 0);
    CHECK_EQ(iova_map_insert(map, &c), IOVA_MAP_OVERLAP);
    CHECK_EQ(iova_map_count(map), 2);
    iova_map_free(map);
}

/* The example sequences of virtio 1.3, 5.13.6.6 (UNMAP request). */
static void test_spec_unmap_examples(void)
{
    IovaMap *map = iova_map_new(0);
    IovaMapping a = mk(0, 4, 0), b = mk(5, 9, 0), c = mk(0, 9, 0);
    IovaMapping d = mk(10, 14, 0);

    CHECK_EQ(iova_map_remove_range(map, 0, 4, NULL, NULL), IOVA_MAP_OK); /* 1 */
    iova_map_insert(map, &c);                                           /* 2 */
    CHECK_EQ(iova_map_remove_range(map, 0, 9, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_insert(map, &a);                                           /* 3 */
    iova_map_insert(map, &b);
    CHECK_EQ(iova_map_remove_range(map, 0, 9, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_insert(map, &c);                                           /* 4 */
    CHECK_EQ(iova_map_remove_range(map, 0, 4, NULL, NULL), IOVA_MAP_SPLIT);
    CHECK_EQ(iova_map_count(map), 1);
    CHECK_EQ(iova_map_remove_range(map, 0, 10, NULL, NULL), IOVA_MAP_OK);
    iova_map_insert(map, &a);                                           /* 5 */
    iova_map_insert(map, &b);
    CHECK_EQ(iova_map_remove_range(map, 0, 4, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 1);
    CHECK(iova_map_lookup(map, 5) != NULL);
    iova_map_clear(map, NULL, NULL);
    iova_map_insert(map, &a);                                           /* 6 */
    CHECK_EQ(iova_map_remove_range(map, 0, 9, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_insert(map, &a);                                           /* 7 */
    iova_map_insert(map, &d);
    {
        int n = 0;
        CHECK_EQ(iova_map_remove_range(map, 0, 14, count_cb, &n), IOVA_MAP_OK);
        CHECK_EQ(n, 2);
    }
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_free(map);
}

static void test_split_leaves_all(void)
{
    IovaMap *map = iova_map_new(0);
    IovaMapping a = mk(0x0, 0xfff, 0), b = mk(0x2000, 0x3fff, 0);

    iova_map_insert(map, &a);
    iova_map_insert(map, &b);
    /* covers a entirely, cuts b: nothing may go */
    CHECK_EQ(iova_map_remove_range(map, 0, 0x2fff, NULL, NULL), IOVA_MAP_SPLIT);
    CHECK_EQ(iova_map_count(map), 2);
    iova_map_free(map);
}

static void test_full_range_edges(void)
{
    IovaMap *map = iova_map_new(0);
    IovaMapping top = mk(UINT64_MAX - 0xfff, UINT64_MAX, 0);
    IovaMapping all = mk(0, UINT64_MAX, 0);

    CHECK_EQ(iova_map_insert(map, &top), IOVA_MAP_OK);
    CHECK(iova_map_lookup(map, UINT64_MAX) != NULL);
    CHECK_EQ(iova_map_remove_range(map, 0, UINT64_MAX, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_insert(map, &all), IOVA_MAP_OK);
    CHECK(iova_map_lookup(map, 12345) != NULL);
    CHECK_EQ(iova_map_remove_range(map, 0, UINT64_MAX, NULL, NULL), IOVA_MAP_OK);
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_free(map);
}

static void test_capacity_bound(void)
{
    IovaMap *map = iova_map_new(3);

    for (int i = 0; i < 3; i++) {
        IovaMapping m = mk(i * 0x1000, i * 0x1000 + 0xfff, 0);
        CHECK_EQ(iova_map_insert(map, &m), IOVA_MAP_OK);
    }
    {
        IovaMapping m = mk(0x10000, 0x10fff, 0);
        CHECK_EQ(iova_map_insert(map, &m), IOVA_MAP_NOMEM);
    }
    iova_map_free(map);
}

/* Random operations against a bitmap model of 1024 pages. */
static void test_random_against_model(void)
{
    enum { PAGES = 1024 };
    static int owner[PAGES];    /* start page of the mapping, or -1 */
    IovaMap *map = iova_map_new(0);
    unsigned seed = 12345;

    memset(owner, -1, sizeof(owner));
    for (int step = 0; step < 200000; step++) {
        int s, len, e, free_run = 1;
        seed = seed * 1103515245 + 12345;
        s = (seed >> 8) % PAGES;
        len = 1 + (seed >> 20) % 8;
        e = s + len - 1 < PAGES ? s + len - 1 : PAGES - 1;
        for (int p = s; p <= e; p++) {
            free_run &= owner[p] < 0;
        }
        if (seed & 1) {
            IovaMapping m = mk((uint64_t)s << 12, ((uint64_t)e << 12) | 0xfff,
                               (uint64_t)s << 20);
            CHECK_EQ(iova_map_insert(map, &m),
                     free_run ? IOVA_MAP_OK : IOVA_MAP_OVERLAP);
            if (free_run) {
                for (int p = s; p <= e; p++) {
                    owner[p] = s;
                }
            }
        } else {
            int splits = (owner[s] >= 0 && owner[s] != s) ||
                         (e + 1 < PAGES && owner[e] >= 0 && owner[e + 1] == owner[e]);
            IovaMapResult r = iova_map_remove_range(map, (uint64_t)s << 12,
                                                    ((uint64_t)e << 12) | 0xfff,
                                                    NULL, NULL);
            CHECK_EQ(r, splits ? IOVA_MAP_SPLIT : IOVA_MAP_OK);
            if (!splits) {
                for (int p = s; p <= e; p++) {
                    owner[p] = -1;
                }
            }
        }
        if (step % 997 == 0) {
            CHECK(iova_map_check(map));
        }
        if (unit_failures_in_test) {
            break;
        }
    }
    CHECK(iova_map_check(map));
    for (int p = 0; p < PAGES; p++) {
        const IovaMapping *m = iova_map_lookup(map, ((uint64_t)p << 12) | 0x80);
        CHECK(owner[p] < 0 ? m == NULL :
              m && m->phys_start == (uint64_t)owner[p] << 20);
    }
    iova_map_free(map);
}

/* MAPs then UNMAPs of exactly what was mapped, as drivers do */
static void test_exact_unmaps_keep_balance(void)
{
    enum { N = 4096 };
    IovaMap *map = iova_map_new(0);
    unsigned seed = 777, order[N];

    for (unsigned i = 0; i < N; i++) {
        IovaMapping m = mk((uint64_t)i << 12, ((uint64_t)i << 12) | 0xfff, i);

        order[i] = i;
        CHECK_EQ(iova_map_insert(map, &m), IOVA_MAP_OK);
    }
    CHECK(iova_map_check(map));
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j, t;

        seed = seed * 1103515245 + 12345;
        j = (seed >> 8) % (i + 1);
        t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (unsigned i = 0; i < N; i++) {
        uint64_t s = (uint64_t)order[i] << 12;

        CHECK_EQ(iova_map_remove_range(map, s, s | 0xfff, NULL, NULL),
                 IOVA_MAP_OK);
        CHECK(iova_map_lookup(map, s) == NULL);
        if (i % 256 == 0) {
            CHECK(iova_map_check(map));
        }
    }
    CHECK_EQ(iova_map_count(map), 0);
    iova_map_free(map);
}

static void test_foreach_in_order(void)
{
    IovaMap *map = iova_map_new(0);
    int n = 0;

    for (int i = 99; i >= 0; i--) {
        IovaMapping m = mk(i * 0x2000, i * 0x2000 + 0xfff, 0);
        iova_map_insert(map, &m);
    }
    iova_map_foreach_in(map, 0x2000 * 10 + 0x800, 0x2000 * 19, count_cb, &n);
    CHECK_EQ(n, 10);       /* mappings 10 to 19, the first partly met */
    iova_map_free(map);
}

int main(void)
{
    RUN(test_insert_lookup);
    RUN(test_overlap_rejected);
    RUN(test_spec_unmap_examples);
    RUN(test_split_leaves_all);
    RUN(test_full_range_edges);
    RUN(test_capacity_bound);
    RUN(test_random_against_model);
    RUN(test_exact_unmaps_keep_balance);
    RUN(test_foreach_in_order);
    return unit_report("test-iova-map");
}
