/*
 * qemu-viommu: unit tests of the page-table walker (hw/viommu/pt-walk.c):
 * VT-d second stage (3, 4, 5 levels, large pages), x86-64 first stage
 * (canonical inputs, A/D bits, U/S), AMD-Vi v1 (modes 1 to 6, skipped
 * levels, Next Level 7 pages), bad entries, and the leaf visitor against
 * the walk on random tables, including tables that alias one another.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/pt-walk.h"
#include "unit.h"
#include "pt-fake-mem.h"

#include <string.h>

static ViommuPtConfig config(const ViommuPtFormat *fmt, int levels,
                             uint64_t root)
{
    return (ViommuPtConfig) {
        .fmt = fmt, .root = root, .levels = levels,
        .leaf_levels = 1u << 2 | 1u << 3,
        .out_mask = (1ull << 48) - 1,
        .read = mem_read, .write = mem_write,
    };
}

#define SL_RW   3ull

static void test_vtd_sl_levels(void)
{
    int levels;

    for (levels = 3; levels <= 5; levels++) {
        uint64_t root, iova = (1ull << (12 + 9 * levels)) - 0x3000 + 0x123;
        ViommuPtConfig cfg;
        ViommuPtResult res;

        mem_reset();
        root = new_table();
        cfg = config(&viommu_pt_vtd_sl, levels, root);
        set_entry(path(root, levels, iova, 1, SL_RW), idx_of(iova, 1),
                  0x7000 | SL_RW | 1u << 11);
        reads = 0;
        CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res),
                 VIOMMU_PT_OK);
        CHECK_EQ(reads, levels);
        CHECK_EQ(res.output, 0x7000);
        CHECK_EQ(res.iova, iova & ~0xfffull);
        CHECK_EQ(res.page_shift, 12);
        CHECK_EQ(res.level, 1);
        CHECK(res.snoop);
        CHECK_EQ(res.perm & 3, 3);
        /* the page next to it is not mapped: the level where it stopped */
        CHECK_EQ(viommu_pt_walk(&cfg, iova + 0x1000, 0, &res),
                 VIOMMU_PT_NOT_PRESENT);
        CHECK_EQ(res.level, 1);
        /* beyond the input width */
        if (levels < 5) {
            CHECK_EQ(viommu_pt_walk(&cfg, iova + 0x3000, 0, &res),
                     VIOMMU_PT_ADDR_WIDTH);
        }
    }
}

static void test_vtd_sl_permissions(void)
{
    uint64_t root, iova = 0x40000000;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_vtd_sl, 4, root);
    /* W clear in one table entry on the way: read-only, whatever the leaf */
    set_entry(path(root, 4, iova, 1, 1), idx_of(iova, 1), 0x9000 | SL_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_READ, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.perm & 3, VIOMMU_PT_READ);
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res), VIOMMU_PT_PERM);
    /* write-only leaf */
    set_entry(path(root, 4, iova + PAGE, 1, 1), idx_of(iova + PAGE, 1),
              0xa000 | 2);
    CHECK_EQ(viommu_pt_walk(&cfg, iova + PAGE, VIOMMU_PT_READ, &res),
             VIOMMU_PT_PERM);
}

static void test_vtd_sl_large(void)
{
    uint64_t root, t;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_vtd_sl, 4, root);
    /* 2 MiB at level 2, 1 GiB at level 3 */
    t = path(root, 4, 0x200000, 2, SL_RW);
    set_entry(t, 1, 0x40000000ull | 1u << 7 | SL_RW);
    t = path(root, 4, 0x80000000ull, 3, SL_RW);
    set_entry(t, 2, 0x1c0000000ull | 1u << 7 | 1);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x2345678, 0, &res), VIOMMU_PT_NOT_PRESENT);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x3fffff, VIOMMU_PT_WRITE, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.page_shift, 21);
    CHECK_EQ(res.output, 0x40000000ull);
    CHECK_EQ(res.iova, 0x200000);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x80000000ull + 0x1234567, 0, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.page_shift, 30);
    CHECK_EQ(res.output, 0x1c0000000ull);
    CHECK_EQ(res.level, 3);
    /* without 1 GiB pages in the capability, PS at level 3 is reserved */
    cfg.leaf_levels = 1u << 2;
    CHECK_EQ(viommu_pt_walk(&cfg, 0x80000000ull, 0, &res), VIOMMU_PT_RESERVED);
    /* address bits below a large page are reserved (VT-d 9.8) */
    t = path(root, 4, 0x200000, 2, SL_RW);
    set_entry(t, 1, 0x40001000ull | 1u << 7 | SL_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x200000, 0, &res), VIOMMU_PT_RESERVED);
    set_entry(t, 1, 0x40000000ull | 1u << 7 | SL_RW);
    /* PS at level 4 never makes a leaf */
    cfg.leaf_levels = ~0u;
    set_entry(root, 5, 0x1000 | 1u << 7 | SL_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 5ull << 39, 0, &res), VIOMMU_PT_RESERVED);
    /* an output address beyond the host width is reserved */
    cfg.leaf_levels = 1u << 2;
    t = path(root, 4, 0x600000, 2, SL_RW);
    set_entry(t, 3, (1ull << 50) | 1u << 7 | SL_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x600000, 0, &res), VIOMMU_PT_RESERVED);
}

static void test_walk_read_failure_and_config(void)
{
    uint64_t root;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_vtd_sl, 3, root);
    set_entry(root, 0, (1ull << 40) | SL_RW);      /* table outside memory */
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, 0, &res), VIOMMU_PT_READ_FAILED);
    CHECK_EQ(res.level, 2);
    cfg.levels = 2;
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, 0, &res), VIOMMU_PT_BAD_CONFIG);
    cfg = config(&viommu_pt_x86_fl, 3, root);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, 0, &res), VIOMMU_PT_BAD_CONFIG);
    cfg = config(&viommu_pt_amd_v1, 7, root);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, 0, &res), VIOMMU_PT_BAD_CONFIG);
    cfg = config(&viommu_pt_x86_fl, 4, root);
    cfg.flags = VIOMMU_PT_SET_AD;
    cfg.write = NULL;
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, 0, &res), VIOMMU_PT_BAD_CONFIG);
}

#define FL_P    1ull
#define FL_RW   2ull
#define FL_US   4ull
#define FL_A    (1ull << 5)
#define FL_D    (1ull << 6)

/*
 * A guest that changes the leaf while the walk sets its D bit: the first
 * @racing updates find another value there (the guest moved the page
 * between 0x5000 and 0x9000 meanwhile), so the walk starts again and
 * takes the new entry.
 */
static unsigned racing;

static bool racing_write(void *opaque, uint64_t addr, uint64_t old,
                         uint64_t entry)
{
    if (racing && (old & 0xfff) == (FL_P | FL_RW | FL_US | FL_A)) {
        racing--;
        mem[addr / 8] = old ^ (0x5000 ^ 0x9000);    /* the guest's write */
    }
    return mem_write(opaque, addr, old, entry);
}

static void test_x86_fl_racing_ad(void)
{
    uint64_t root, t, iova = 0x40000000;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_x86_fl, 4, root);
    cfg.flags = VIOMMU_PT_SET_AD;
    cfg.write = racing_write;
    t = path(root, 4, iova, 1, FL_P | FL_RW | FL_US | FL_A);
    set_entry(t, idx_of(iova, 1), 0x5000 | FL_P | FL_RW | FL_US | FL_A);
    racing = 1;
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0x9000);               /* the entry now, not then */
    CHECK_EQ(mem[t / 8 + idx_of(iova, 1)] & ~0xfffull, 0x9000);
    CHECK(mem[t / 8 + idx_of(iova, 1)] & FL_D);
    /* a guest that never stops changing it: a fault, not a hang */
    set_entry(t, idx_of(iova, 1), 0x5000 | FL_P | FL_RW | FL_US | FL_A);
    racing = ~0u;
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res),
             VIOMMU_PT_READ_FAILED);
    CHECK_EQ(~racing, VIOMMU_PT_AD_RETRIES);
    racing = 0;
}

/*
 * Bits software may use (Linux 6.19's generic page tables define them):
 * VT-d second stage 10, 52-60 and 63, first stage 9, 11 and 52-62. They
 * are ignored, never reserved: the walk gives the same page and rights.
 * A write-only second-stage leaf (W=1, R=0, Linux 6.16) allows writes.
 */
static void test_software_bits(void)
{
    const uint64_t sl_sw = 1ull << 10 | 0x1ffull << 52 | 1ull << 63;
    const uint64_t fl_sw = 1ull << 9 | 1ull << 11 | 0x7ffull << 52;
    uint64_t root, iova = 0x40000000;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_vtd_sl, 4, root);
    set_entry(path(root, 4, iova, 1, SL_RW | sl_sw), idx_of(iova, 1),
              0x9000 | SL_RW | sl_sw);
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0x9000);
    CHECK_EQ(res.perm & 3, 3);
    set_entry(path(root, 4, iova + PAGE, 1, SL_RW), idx_of(iova + PAGE, 1),
              0xa000 | 2 | sl_sw);
    CHECK_EQ(viommu_pt_walk(&cfg, iova + PAGE, VIOMMU_PT_WRITE, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0xa000);
    CHECK_EQ(res.perm & 3, VIOMMU_PT_WRITE);

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_x86_fl, 4, root);
    set_entry(path(root, 4, iova, 1, FL_P | FL_RW | FL_US | fl_sw),
              idx_of(iova, 1), 0xb000 | FL_P | FL_RW | FL_US | fl_sw);
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0xb000);
    CHECK_EQ(res.perm, VIOMMU_PT_READ | VIOMMU_PT_WRITE | VIOMMU_PT_USER);
}

static void test_x86_fl(void)
{
    uint64_t root, t, high = 0xffff800000201000ull, leaf_addr;
    ViommuPtConfig cfg;
    ViommuPtResult res;

    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_x86_fl, 4, root);
    cfg.flags = VIOMMU_PT_SET_AD;
    t = path(root, 4, high, 1, FL_P | FL_RW | FL_US);
    set_entry(t, idx_of(high, 1), 0x5000 | FL_P | FL_RW | FL_US);
    leaf_addr = t + 8 * idx_of(high, 1);
    CHECK_EQ(idx_of(high, 4), 256);
    /* a read sets A on every entry used, not D */
    CHECK_EQ(viommu_pt_walk(&cfg, high + 0x10, VIOMMU_PT_READ, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0x5000);
    CHECK_EQ(res.iova, high);
    CHECK_EQ(res.perm, VIOMMU_PT_READ | VIOMMU_PT_WRITE | VIOMMU_PT_USER);
    CHECK(mem[root / 8 + 256] & FL_A);
    CHECK(mem[leaf_addr / 8] & FL_A);
    CHECK(!(mem[leaf_addr / 8] & FL_D));
    /* a write sets D on the leaf */
    CHECK_EQ(viommu_pt_walk(&cfg, high, VIOMMU_PT_WRITE, &res), VIOMMU_PT_OK);
    CHECK(mem[leaf_addr / 8] & FL_D);
    CHECK(!(mem[root / 8 + 256] & FL_D));
    /* not canonical: bit 47 set, bits above clear */
    CHECK_EQ(viommu_pt_walk(&cfg, 0x0000800000201000ull, 0, &res),
             VIOMMU_PT_ADDR_WIDTH);
    /* R/W clear on the way: no write; U/S clear: supervisor only */
    t = path(root, 4, 0x1000, 2, FL_P | FL_US);
    set_entry(t, 0, 0x600000 | FL_P | FL_RW | 1u << 7);   /* 2 MiB, no U/S */
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, VIOMMU_PT_WRITE, &res),
             VIOMMU_PT_PERM);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, VIOMMU_PT_USER, &res),
             VIOMMU_PT_PERM);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x1000, VIOMMU_PT_READ, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.page_shift, 21);
    CHECK_EQ(res.output, 0x600000);
    /* PAT (bit 12) in a large leaf is no address bit; bit 13 is reserved */
    set_entry(t, 1, 0x800000 | 1u << 12 | FL_P | 1u << 7);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x200000, 0, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0x800000);
    set_entry(t, 1, 0x800000 | 1u << 13 | FL_P | 1u << 7);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x200000, 0, &res), VIOMMU_PT_RESERVED);
    /* 5 levels: 57-bit canonical */
    cfg.levels = 5;
    CHECK_EQ(viommu_pt_walk(&cfg, 0xff00000000000000ull, 0, &res),
             VIOMMU_PT_NOT_PRESENT);
    CHECK_EQ(viommu_pt_walk(&cfg, 0x0100000000000000ull, 0, &res),
             VIOMMU_PT_ADDR_WIDTH);
}

#define AMD_PR      1ull
#define AMD_IR      (1ull << 61)
#define AMD_IW      (1ull << 62)
#define AMD_RW      (AMD_IR | AMD_IW)
#define AMD_NL(n)   ((uint64_t)(n) << 9)

/*
 * AMD mode 4 whose top entry 0 skips level 3, straight to a level-2
 * table, whose entry 3 points at a level-1 table: returns the config and
 * the two lower tables.
 */
static ViommuPtConfig amd_skip_tables(uint64_t *l2, uint64_t *l1)
{
    uint64_t root;

    mem_reset();
    root = new_table();
    *l2 = new_table();
    *l1 = new_table();
    set_entry(root, 0, *l2 | AMD_NL(2) | AMD_PR | AMD_RW);
    set_entry(*l2, 3, *l1 | AMD_NL(1) | AMD_PR | AMD_RW);
    return config(&viommu_pt_amd_v1, 4, root);
}

static void test_amd_v1(void)
{
    uint64_t root, l2, l1, iova;
    ViommuPtConfig cfg;
    ViommuPtResult res;
    unsigned i;

    cfg = amd_skip_tables(&l2, &l1);
    root = cfg.root;
    set_entry(l1, 4, 0xb000 | AMD_PR | AMD_IR);
    iova = 3ull << 21 | 4ull << 12 | 0x56;
    reads = 0;
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_READ, &res), VIOMMU_PT_OK);
    CHECK_EQ(reads, 3);
    CHECK_EQ(res.output, 0xb000);
    CHECK_EQ(viommu_pt_walk(&cfg, iova, VIOMMU_PT_WRITE, &res), VIOMMU_PT_PERM);
    /* the skipped level's input bits (38:30) must be zero */
    CHECK_EQ(viommu_pt_walk(&cfg, iova | 1ull << 30, 0, &res),
             VIOMMU_PT_ADDR_WIDTH);
    /* a Next Level that does not go down */
    set_entry(root, 1, l2 | AMD_NL(4) | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 1ull << 39, 0, &res), VIOMMU_PT_BAD_LEVEL);
    set_entry(l2, 5, l1 | AMD_NL(6) | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 5ull << 21, 0, &res), VIOMMU_PT_BAD_LEVEL);
    /* Next Level 0 at level 2: a 2 MiB page */
    set_entry(l2, 6, 0x400000 | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 6ull << 21 | 0x1234, 0, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.page_shift, 21);
    CHECK_EQ(res.output, 0x400000);
    /* Next Level 7 at level 1: a 32 KiB page (bits 12, 13 set, 14 clear) */
    for (i = 8; i < 16; i++) {
        set_entry(l1, i, 0x20000 | 3ull << 12 | AMD_NL(7) | AMD_PR | AMD_RW);
    }
    CHECK_EQ(viommu_pt_walk(&cfg, 3ull << 21 | 13ull << 12 | 0x10, 0, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.page_shift, 12);               /* this entry's part of it */
    CHECK_EQ(res.output, 0x20000 + 5 * 0x1000);
    CHECK_EQ(res.iova, 3ull << 21 | 13ull << 12);
    /* a 4 MiB page at level 2 (address bit 12 set, 13 clear... up to 21) */
    set_entry(l2, 8, 0x800000 | 0x1ffull << 12 | AMD_NL(7) | AMD_PR | AMD_RW);
    set_entry(l2, 9, 0x800000 | 0x1ffull << 12 | AMD_NL(7) | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 9ull << 21 | 0x345, 0, &res), VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0xa00000);
    CHECK_EQ(res.page_shift, 21);
    /* Next Level 7 coding a size not above the level's own: reserved */
    set_entry(l2, 7, 0x400000 | AMD_NL(7) | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 7ull << 21, 0, &res), VIOMMU_PT_RESERVED);
    /* a page whose block passes the output width is reserved */
    cfg.out_mask = (1ull << 22) - 1;
    CHECK_EQ(viommu_pt_walk(&cfg, 9ull << 21, 0, &res), VIOMMU_PT_RESERVED);
    cfg.out_mask = (1ull << 48) - 1;
    /* beyond mode 4's 48 bits */
    CHECK_EQ(viommu_pt_walk(&cfg, 1ull << 48, 0, &res), VIOMMU_PT_ADDR_WIDTH);
    /* mode 6: the top level indexes bits 63:57 */
    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_amd_v1, 6, root);
    l1 = new_table();
    set_entry(root, 127, l1 | AMD_NL(1) | AMD_PR | AMD_RW);
    set_entry(l1, 0, 0xc000 | AMD_PR | AMD_RW);
    CHECK_EQ(viommu_pt_walk(&cfg, 127ull << 57, VIOMMU_PT_WRITE, &res),
             VIOMMU_PT_OK);
    CHECK_EQ(res.output, 0xc000);
    CHECK_EQ(viommu_pt_walk(&cfg, 127ull << 57 | 1ull << 21, 0, &res),
             VIOMMU_PT_ADDR_WIDTH);
    /* mode 1: one level of 4 KiB entries */
    cfg.levels = 1;
    cfg.root = l1;
    CHECK_EQ(viommu_pt_walk(&cfg, 0x10, 0, &res), VIOMMU_PT_OK);
    CHECK_EQ(viommu_pt_walk(&cfg, 1ull << 21, 0, &res), VIOMMU_PT_ADDR_WIDTH);
}

/* ---- the leaf visitor against the walk ---- */

typedef struct Seen {
    ViommuPtResult leaf[4096];
    unsigned n;
} Seen;

static int record(const ViommuPtResult *res, void *opaque)
{
    Seen *s = opaque;

    if (s->n < 4096) {
        s->leaf[s->n++] = *res;
    }
    return 0;
}

/* Random VT-d second-stage tables within [0, 1 GiB): pages and 2 MiB leaves. */
static void random_sl_tables(uint64_t root, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        uint64_t iova = (unit_rand() % (1ull << 30)) & ~0xfffull;
        if (unit_rand() % 5 == 0) {
            uint64_t t = path(root, 4, iova, 2, SL_RW);
            if (!mem[t / 8 + idx_of(iova, 2)]) {
                set_entry(t, idx_of(iova, 2),
                          ((unit_rand() % 64) << 21) | 1u << 7 |
                          (1 + unit_rand() % 3));
            }
        } else {
            uint64_t t = path(root, 4, iova, 2, SL_RW);
            uint64_t *e = &mem[t / 8 + idx_of(iova, 2)];
            if (*e & (1u << 7)) {
                continue;                       /* already a 2 MiB leaf */
            }
            set_entry(path(root, 4, iova, 1, SL_RW), idx_of(iova, 1),
                      ((unit_rand() % 4096) << 12) | (unit_rand() % 4));
        }
    }
}

/* The leaf the visitor reported that holds @iova, or NULL. */
static const ViommuPtResult *leaf_of(const Seen *s, uint64_t iova)
{
    unsigned i;

    for (i = 0; i < s->n; i++) {
        const ViommuPtResult *l = &s->leaf[i];
        if (iova >= l->iova && iova - l->iova < (1ull << l->page_shift)) {
            return l;
        }
    }
    return NULL;
}

static void test_for_each_matches_walk(void)
{
    static Seen seen;
    uint64_t root, start, last, iova;
    ViommuPtConfig cfg;
    ViommuPtResult res;
    ViommuPtFault fault;
    unsigned round, i;
    unit_seed(88172645463325252ull);

    for (round = 0; round < 20; round++) {
        mem_reset();
        root = new_table();
        cfg = config(&viommu_pt_vtd_sl, 4, root);
        random_sl_tables(root, 60);
        start = unit_rand() % (1ull << 30);
        last = start + unit_rand() % (1ull << 29);
        seen.n = 0;
        CHECK_EQ(viommu_pt_for_each_leaf(&cfg, start, last, record, &seen,
                                         &fault), 0);
        CHECK_EQ(fault, VIOMMU_PT_OK);
        for (i = 1; i < seen.n; i++) {          /* in order, no overlap */
            CHECK(seen.leaf[i].iova > seen.leaf[i - 1].iova);
        }
        for (i = 0; i < 2000; i++) {
            iova = start + unit_rand() % (last - start + 1);
            const ViommuPtResult *l = leaf_of(&seen, iova);
            if (viommu_pt_walk(&cfg, iova, 0, &res) == VIOMMU_PT_OK) {
                CHECK(l != NULL);
                if (l) {
                    CHECK_EQ(l->iova, res.iova);
                    CHECK_EQ(l->output, res.output);
                    CHECK_EQ(l->page_shift, res.page_shift);
                    CHECK_EQ(l->perm, res.perm);
                }
            } else {
                CHECK(l == NULL);               /* nothing reported there */
            }
        }
        for (i = 0; i < seen.n; i++) {          /* each leaf walks back */
            CHECK_EQ(viommu_pt_walk(&cfg, seen.leaf[i].iova, 0, &res),
                     VIOMMU_PT_OK);
            CHECK_EQ(res.output, seen.leaf[i].output);
        }
    }
}

static void test_for_each_amd_and_aliasing(void)
{
    static Seen seen;
    uint64_t root, l2, l1;
    ViommuPtConfig cfg;
    ViommuPtFault fault;
    unsigned i;

    cfg = amd_skip_tables(&l2, &l1);
    for (i = 8; i < 16; i++) {                      /* one 32 KiB page */
        set_entry(l1, i, 0x20000 | 3ull << 12 | AMD_NL(7) | AMD_PR | AMD_RW);
    }
    set_entry(l1, 20, 0xd000 | AMD_PR | AMD_IR);
    seen.n = 0;
    viommu_pt_for_each_leaf(&cfg, 0, ~0ull, record, &seen, &fault);
    CHECK_EQ(fault, VIOMMU_PT_OK);
    CHECK_EQ(seen.n, 9);                        /* 8 parts of the page, 1 */
    CHECK_EQ(seen.leaf[0].iova, 3ull << 21 | 8ull << 12);
    CHECK_EQ(seen.leaf[7].output, 0x20000 + 7 * 0x1000);
    CHECK_EQ(seen.leaf[8].iova, 3ull << 21 | 20ull << 12);
    CHECK_EQ(seen.leaf[8].perm & 3, VIOMMU_PT_READ);

    /* every entry of a table pointing back at that table: bounded */
    mem_reset();
    root = new_table();
    cfg = config(&viommu_pt_vtd_sl, 5, root);
    for (i = 0; i < 512; i++) {
        set_entry(root, i, root | SL_RW);
    }
    cfg.max_reads = 100000;
    seen.n = 0;
    reads = 0;
    viommu_pt_for_each_leaf(&cfg, 0, ~0ull, record, &seen, &fault);
    CHECK_EQ(fault, VIOMMU_PT_TOO_LARGE);
    CHECK(reads <= 100000);
    /* a walk of it reads one entry a level and finds leaves that alias */
    {
        ViommuPtResult res;
        reads = 0;
        viommu_pt_walk(&cfg, 0x123456789ull, 0, &res);
        CHECK(reads <= 5);
    }
}

int main(void)
{
    RUN(test_vtd_sl_levels);
    RUN(test_vtd_sl_permissions);
    RUN(test_vtd_sl_large);
    RUN(test_software_bits);
    RUN(test_walk_read_failure_and_config);
    RUN(test_x86_fl);
    RUN(test_x86_fl_racing_ad);
    RUN(test_amd_v1);
    RUN(test_for_each_matches_walk);
    RUN(test_for_each_amd_and_aliasing);
    return unit_report("test-pt-walk");
}
