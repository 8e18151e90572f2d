/*
 * qemu-viommu: unit tests of the notifier shadow (hw/viommu/shadow.c).
 *
 * A model notifier (VFIO's view) takes the MAP and UNMAP blocks and checks
 * what VFIO would: a MAP never lands on something mapped, an UNMAP is
 * exactly a block that was mapped. After each sync, the notifier's view of
 * the synced range equals the guest's tables page by page; a sync with
 * nothing changed sends nothing; a changed page costs the UNMAP of the
 * held mapping it was in, no more.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/shadow.h"
#include "unit.h"
#include "pt-fake-mem.h"

#include <string.h>

/* The notifier's view: one slot per 4 KiB page of the first 64 MiB. */
#define VIEW_PAGES  (1u << 14)
#define MAX_BLOCKS  (1u << 15)

typedef struct Block {
    uint64_t iova, output, mask;
    bool live;
} Block;

static struct {
    uint64_t output[VIEW_PAGES];    /* 0: not mapped (outputs are never 0) */
    unsigned perm[VIEW_PAGES];
    Block blocks[MAX_BLOCKS];
    unsigned nr_blocks;
    unsigned maps, unmaps, unmapped_pages, errors;
} view;

static void view_reset(void)
{
    memset(&view, 0, sizeof(view));
}

static Block *find_block(uint64_t iova, uint64_t mask)
{
    unsigned i;

    for (i = 0; i < view.nr_blocks; i++) {
        if (view.blocks[i].live && view.blocks[i].iova == iova &&
            view.blocks[i].mask == mask) {
            return &view.blocks[i];
        }
    }
    return NULL;
}

static void notifier(bool map, uint64_t iova, uint64_t output, uint64_t mask,
                     unsigned perm, void *opaque)
{
    uint64_t p, first = iova >> 12, n = (mask + 1) >> 12;
    Block *b;

    if ((iova | output) & mask || first + n > VIEW_PAGES || !n) {
        view.errors++;                  /* unaligned, or out of the view */
        return;
    }
    if (map) {
        view.maps++;
        for (p = 0; p < n; p++) {
            if (view.output[first + p]) {
                view.errors++;          /* MAP over a mapped page */
            }
            view.output[first + p] = output + (p << 12);
            view.perm[first + p] = perm;
        }
        if (view.nr_blocks < MAX_BLOCKS) {
            view.blocks[view.nr_blocks++] =
                (Block) { .iova = iova, .output = output, .mask = mask,
                          .live = true };
        }
        return;
    }
    view.unmaps++;
    view.unmapped_pages += n;
    b = find_block(iova, mask);
    if (!b || b->output != output) {
        view.errors++;                  /* UNMAP of what was not mapped so */
        return;
    }
    b->live = false;
    for (p = 0; p < n; p++) {
        view.output[first + p] = 0;
    }
}

/* Compacts the block list (dead blocks pile up over many syncs). */
static void view_compact(void)
{
    unsigned i, j = 0;

    for (i = 0; i < view.nr_blocks; i++) {
        if (view.blocks[i].live) {
            view.blocks[j++] = view.blocks[i];
        }
    }
    view.nr_blocks = j;
}

#define SL_R    1ull
#define SL_W    2ull

static ViommuPtConfig sl_config(uint64_t root)
{
    return (ViommuPtConfig) {
        .fmt = &viommu_pt_vtd_sl, .root = root, .levels = 4,
        .leaf_levels = 1u << 2, .out_mask = (1ull << 46) - 1,
        .read = mem_read,
    };
}

/* Maps the page (or the 2 MiB page) at @iova in a 4-level table. */
static void map_page(uint64_t root, uint64_t iova, uint64_t output,
                     uint64_t perm, bool large)
{
    uint64_t t = path(root, 4, iova, large ? 2 : 1, SL_R | SL_W);

    set_entry(t, idx_of(iova, large ? 2 : 1),
              output | perm | (large ? 1u << 7 : 0));
}

static void unmap_page(uint64_t root, uint64_t iova)
{
    uint64_t t = path(root, 4, iova, 1, SL_R | SL_W);

    set_entry(t, idx_of(iova, 1), 0);
}

/* The notifier's view of [start, last] is the guest's, page by page. */
static void check_view(const ViommuPtConfig *cfg, uint64_t start,
                       uint64_t last)
{
    uint64_t p;
    unsigned bad = 0;

    for (p = start >> 12; p <= last >> 12 && p < VIEW_PAGES; p++) {
        ViommuPtResult res;
        bool mapped = viommu_pt_walk(cfg, p << 12, 0, &res) == VIOMMU_PT_OK &&
                      (res.perm & 3);
        uint64_t want = mapped ? res.output + ((p << 12) - res.iova) : 0;

        if (view.output[p] != want ||
            (mapped && view.perm[p] != (res.perm & 3))) {
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
}

/* Empty guest memory, an empty notifier view, and a 4-level table. */
static ViommuPtConfig fresh_tables(void)
{
    mem_reset();
    view_reset();
    return sl_config(new_table());
}

static ViommuShadowStatus sync(ViommuShadow *s, const ViommuPtConfig *cfg,
                               uint64_t start, uint64_t last)
{
    ViommuPtFault fault;

    return viommu_shadow_sync(s, cfg, start, last, notifier, NULL, &fault);
}

static void test_map_merge_and_nothing_twice(void)
{
    ViommuShadow *s = viommu_shadow_new(1024);
    ViommuPtConfig cfg = fresh_tables();
    uint64_t root = cfg.root, i;

    /* 16 contiguous pages at 0x100000 -> 0x800000: one run, one block */
    for (i = 0; i < 16; i++) {
        map_page(root, 0x100000 + i * PAGE, 0x800000 + i * PAGE, SL_R | SL_W,
                 false);
    }
    /* 3 pages -> 8 KiB + 4 KiB blocks; a 2 MiB page */
    for (i = 0; i < 3; i++) {
        map_page(root, 0x200000 + i * PAGE, 0x900000 + i * PAGE, SL_R, false);
    }
    map_page(root, 0x400000, 0x1000000, SL_R | SL_W, true);
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.errors, 0);
    CHECK_EQ(view.maps, 1 + 2 + 1);
    CHECK_EQ(viommu_shadow_count(s), 3);
    check_view(&cfg, 0, ~0ull);
    /* nothing changed: nothing sent */
    view.maps = 0;
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_OK);
    CHECK_EQ(sync(s, &cfg, 0x100000, 0x100fff), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.maps + view.unmaps, 0);
    /* one page of the 16 changes: that run goes whole, comes back as 3 */
    map_page(root, 0x105000, 0xa00000, SL_R | SL_W, false);
    CHECK_EQ(sync(s, &cfg, 0x105000, 0x105fff), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.unmaps, 1);
    CHECK_EQ(view.unmapped_pages, 16);
    CHECK_EQ(view.errors, 0);
    check_view(&cfg, 0, ~0ull);
    /* the other runs were not touched */
    CHECK(find_block(0x400000, 0x1fffff) != NULL);
    /* a page unmapped by the guest: its run is split around it */
    view.unmaps = view.unmapped_pages = 0;
    unmap_page(root, 0x201000);
    CHECK_EQ(sync(s, &cfg, 0x201000, 0x201fff), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.unmapped_pages, 3);
    check_view(&cfg, 0, ~0ull);
    CHECK_EQ(view.errors, 0);
    /* the device leaves translation: everything goes */
    CHECK_EQ(sync(s, NULL, 0, ~0ull), VIOMMU_SHADOW_OK);
    CHECK_EQ(viommu_shadow_count(s), 0);
    for (i = 0; i < VIEW_PAGES; i++) {
        CHECK_EQ(view.output[i], 0);
    }
    CHECK_EQ(view.errors, 0);
    viommu_shadow_free(s);
}

static void test_walk_fault_and_full(void)
{
    ViommuShadow *s = viommu_shadow_new(2);
    ViommuPtConfig cfg = fresh_tables();
    uint64_t root = cfg.root, i;

    for (i = 0; i < 4; i++) {       /* 4 runs: not contiguous in output */
        map_page(root, i * 2 * PAGE + PAGE, 0x800000 + i * 4 * PAGE, SL_R,
                 false);
    }
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_FULL);
    CHECK_EQ(viommu_shadow_count(s), 2);
    CHECK_EQ(view.errors, 0);
    /* a table the reader cannot reach: what was held there goes */
    set_entry(root, 0, (1ull << 40) | SL_R | SL_W);
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_WALK_FAULT);
    CHECK_EQ(viommu_shadow_count(s), 0);
    CHECK_EQ(view.errors, 0);
    viommu_shadow_clear(s, notifier, NULL);
    viommu_shadow_free(s);
}

static void test_holes_replay_boundaries(void)
{
    static const uint64_t hole[1][2] = { { 0x1000000, 0x10fffff } };
    ViommuShadow *s = viommu_shadow_new(1024);
    ViommuPtConfig cfg = fresh_tables();
    uint64_t root = cfg.root, i, p;

    CHECK(viommu_shadow_set_holes(s, hole, 1));
    /* 4 MiB of contiguous pages at 0x800000, 4 MiB across the hole */
    for (i = 0; i < 1024; i++) {
        map_page(root, 0x800000 + i * PAGE, 0x4000000 + i * PAGE,
                 SL_R | SL_W, false);
        map_page(root, 0xe00000 + i * PAGE, 0x8000000 + i * PAGE,
                 SL_R | SL_W, false);
    }
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.errors, 0);
    /* runs stop at 2 MiB: 2 blocks; 2 MiB before the hole, 1 MiB after */
    CHECK_EQ(view.maps, 2 + 2);
    for (p = 0x1000000 >> 12; p <= 0x10fffff >> 12; p++) {
        CHECK_EQ(view.output[p], 0);
    }
    CHECK_EQ(view.output[0x1100000 >> 12], 0x8300000);
    /* one page changes: one 2 MiB run goes, not 4 MiB */
    view.unmapped_pages = 0;
    map_page(root, 0x900000, 0xc000000, SL_R | SL_W, false);
    CHECK_EQ(sync(s, &cfg, 0x900000, 0x900fff), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.unmapped_pages, 512);
    /* an unaligned range syncs whole pages: no block below a page */
    map_page(root, 0x901000, 0xc001000, SL_R, false);
    CHECK_EQ(sync(s, &cfg, 0x900801, 0x901003), VIOMMU_SHADOW_OK);
    map_page(root, 0x700000, 0xc100000, SL_R, false);   /* nothing held */
    CHECK_EQ(sync(s, &cfg, 0x700801, 0x700803), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.output[0x700000 >> 12], 0xc100000);
    CHECK_EQ(view.errors, 0);
    check_view(&cfg, 0x800000, 0xbfffff);
    /* replay to a notifier that has just registered: the same view */
    view_reset();
    viommu_shadow_replay(s, notifier, NULL);
    CHECK_EQ(view.errors, 0);
    check_view(&cfg, 0x800000, 0xffffff);
    check_view(&cfg, 0x1100000, 0x11fffff);
    for (p = 0x1000000 >> 12; p <= 0x10fffff >> 12; p++) {
        CHECK_EQ(view.output[p], 0);
    }
    CHECK(!viommu_shadow_set_holes(s, hole, VIOMMU_SHADOW_MAX_HOLES + 1));
    viommu_shadow_free(s);
}

static void test_against_model(void)
{
    ViommuShadow *s = viommu_shadow_new(1 << 16);
    ViommuPtConfig cfg = fresh_tables();
    uint64_t root = cfg.root;
    unsigned round, i;
    bool pending = false;           /* changes not yet synced in full */
    unit_seed(0x9e3779b97f4a7c15ull);

    for (round = 0; round < 400; round++) {
        unsigned changes = unit_rand() % 8;
        uint64_t start, last;

        for (i = 0; i < changes; i++) {
            /* pages of the first 32 MiB, often next to one another */
            uint64_t iova = (unit_rand() % 8192) << 12;
            uint64_t t2 = path(root, 4, iova, 2, SL_R | SL_W);

            if (mem[t2 / 8 + idx_of(iova, 2)] & (1u << 7)) {
                set_entry(t2, idx_of(iova, 2), 0);      /* drop a 2 MiB page */
            } else if (unit_rand() % 40 == 0) {
                memset(&mem[t2 / 8 + idx_of(iova, 2)], 0, 8);
                map_page(root, iova & ~0x1fffffull,
                         (1 + unit_rand() % 64) << 21, SL_R | SL_W, true);
            } else if (unit_rand() % 4 == 0) {
                unmap_page(root, iova);
            } else {
                uint64_t out = unit_rand() % 2 ? (iova + 0x10000000) :
                               (1 + unit_rand() % 65536) << 12;
                map_page(root, iova, out, 1 + unit_rand() % 3, false);
            }
        }
        if (unit_rand() % 3) {
            start = 0;
            last = ~0ull;
        } else {
            start = (unit_rand() % 8192) << 12;
            last = start + (unit_rand() % 512) * PAGE + PAGE - 1;
        }
        if (next_page >= MEM_PAGES - 8) {
            break;                      /* the fake memory is used up */
        }
        pending |= changes > 0;
        view.unmaps = view.maps = 0;
        CHECK_EQ(sync(s, &cfg, start, last), VIOMMU_SHADOW_OK);
        check_view(&cfg, start, last);
        if (!pending) {
            CHECK_EQ(view.unmaps + view.maps, 0);
        }
        if (start == 0 && last == ~0ull) {
            pending = false;
        }
        view_compact();
    }
    /* a full sync at the end: everything equal */
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_OK);
    check_view(&cfg, 0, ~0ull);
    view.maps = view.unmaps = 0;
    CHECK_EQ(sync(s, &cfg, 0, ~0ull), VIOMMU_SHADOW_OK);
    CHECK_EQ(view.maps + view.unmaps, 0);
    CHECK_EQ(view.errors, 0);
    CHECK(round > 50);
    viommu_shadow_free(s);
}

int main(void)
{
    RUN(test_map_merge_and_nothing_twice);
    RUN(test_walk_fault_and_full);
    RUN(test_holes_replay_boundaries);
    RUN(test_against_model);
    return unit_report("test-shadow");
}
