/*
 * qemu-viommu: fuzz target for the page-table walker.
 *
 * The input is a guest memory image of 16 pages that holds whatever tables
 * a hostile guest may build; its first bytes choose the format, the level
 * count, the large-page levels and the root. The target walks IOVAs taken
 * from the input and visits every leaf, and checks what must hold for any
 * table contents: a walk reads at most one entry a level, a translation is
 * page aligned and within the output width, the visitor stays within its
 * read bound, and each leaf it reports walks back to the same page. With
 * libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude tests/fuzz/fuzz-pt-walk.c hw/viommu/pt-walk.c
 * Without it, main() replays pseudo-random images under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/pt-walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES       16
#define HEADER      16
#define MAX_READS   4096

static uint64_t mem[PAGES * 512];
static unsigned reads, writes;

static bool mem_read(void *opaque, uint64_t addr, uint64_t *entry)
{
    reads++;
    if (addr >= sizeof(mem)) {
        return false;
    }
    *entry = mem[addr / 8];
    return true;
}

static bool mem_write(void *opaque, uint64_t addr, uint64_t old,
                      uint64_t entry)
{
    writes++;
    if (addr >= sizeof(mem) || mem[addr / 8] != old) {
        return false;
    }
    mem[addr / 8] = entry;
    return true;
}

typedef struct Visit {
    const ViommuPtConfig *cfg;
    unsigned leaves;
} Visit;

static int check_leaf(const ViommuPtResult *leaf, void *opaque)
{
    Visit *v = opaque;
    ViommuPtResult res;

    v->leaves++;
    if (leaf->page_shift < 12 || leaf->page_shift > 63 ||
        (leaf->iova | leaf->output) & ((1ull << leaf->page_shift) - 1)) {
        abort();
    }
    if (viommu_pt_walk(v->cfg, leaf->iova, 0, &res) != VIOMMU_PT_OK ||
        res.page_shift != leaf->page_shift || res.iova != leaf->iova ||
        res.output != leaf->output || res.perm != leaf->perm) {
        abort();
    }
    return v->leaves > 100000;
}

static void check_walk(const ViommuPtConfig *cfg, uint64_t iova, unsigned perm)
{
    ViommuPtResult res;
    ViommuPtFault f;

    reads = 0;
    f = viommu_pt_walk(cfg, iova, perm, &res);
    if (reads > (unsigned)cfg->levels || f > VIOMMU_PT_TOO_LARGE) {
        abort();
    }
    if (f == VIOMMU_PT_OK &&
        (res.page_shift < 12 || res.page_shift > 63 ||
         (res.output & ((1ull << res.page_shift) - 1)) ||
         (res.output & ~cfg->out_mask) || (perm & ~res.perm) ||
         iova < res.iova || (iova - res.iova) >> res.page_shift)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ViommuPtFormat *const fmts[] = {
        &viommu_pt_vtd_sl, &viommu_pt_x86_fl, &viommu_pt_amd_v1,
    };
    const ViommuPtFormat *fmt;
    ViommuPtConfig cfg;
    ViommuPtFault fault;
    Visit v;
    uint64_t iova;
    size_t i;

    if (size < HEADER) {
        return 0;
    }
    fmt = fmts[data[0] % 3];
    memset(mem, 0, sizeof(mem));
    memcpy(mem, data + HEADER, size - HEADER < sizeof(mem) ? size - HEADER
                                                           : sizeof(mem));
    cfg = (ViommuPtConfig) {
        .fmt = fmt,
        .levels = 1 + data[1] % 6,
        .leaf_levels = data[2],
        .root = (uint64_t)(data[3] % (PAGES + 1)) << 12 | data[4],
        .out_mask = data[5] & 1 ? (1ull << 48) - 1 : (1ull << 16) - 1,
        .max_reads = MAX_READS,
        .read = mem_read,
        .write = mem_write,
    };
    /* IOVAs from the input, and the walk of each */
    for (i = HEADER; i + 8 <= size && i < HEADER + 8 * 64; i += 8) {
        memcpy(&iova, data + i, 8);
        check_walk(&cfg, iova, data[6] & 7);
        check_walk(&cfg, iova & ((1ull << 30) - 1), VIOMMU_PT_READ);
    }
    /* every leaf of a range, each walked back */
    v = (Visit) { .cfg = &cfg };
    reads = 0;
    viommu_pt_for_each_leaf(&cfg, (uint64_t)data[7] << 24,
                            ~0ull >> (data[8] % 64), check_leaf, &v, &fault);
    if (reads > MAX_READS + (uint64_t)v.leaves * cfg.levels) {
        abort();
    }
    /* first stage with A/D: the walk may write back only entries it read */
    if (fmt == &viommu_pt_x86_fl) {
        cfg.flags = VIOMMU_PT_SET_AD;
        memcpy(&iova, data + 8, 8);
        writes = 0;
        check_walk(&cfg, iova, VIOMMU_PT_WRITE);
        if (writes > (unsigned)cfg.levels) {
            abort();
        }
    }
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 24;
}

/*
 * Mostly well-formed tables: entries that point at other pages of the
 * image (tables that alias, loop and skip), leaves, and random bits.
 */
static size_t make_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
    uint64_t *e = (uint64_t *)(buf + HEADER);
    size_t n = (cap - HEADER) / 8, i;
    unsigned density = 1 + next(seed) % 64;

    for (i = 0; i < HEADER; i++) {
        buf[i] = next(seed);
    }
    buf[3] = 1 + next(seed) % 4;
    buf[4] = 0;
    buf[5] |= 1;
    memset(e, 0, n * 8);
    for (i = 0; i < n; i++) {
        if (next(seed) % 64 >= density) {
            continue;
        }
        switch (next(seed) % 4) {
        case 0:
            e[i] = next(seed) << 20 ^ next(seed);           /* noise */
            break;
        default:                                            /* a pointer */
            e[i] = (next(seed) % (PAGES + 2)) << 12 | (next(seed) & 0xfff) |
                   (next(seed) & 3ull) << 61 | 1;
            break;
        }
    }
    /* a few IOVAs near the start, where tables are dense */
    for (i = 0; i < 16 && HEADER + 8 * i + 8 <= cap; i++) {
        uint64_t iova = next(seed) % 4 ? next(seed) & 0xffffffffull
                                       : next(seed) << 20;
        memcpy(buf + HEADER + 8 * i, &iova, 8);
    }
    return cap;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 100000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 11;
    static uint8_t buf[HEADER + PAGES * 4096];

    for (int i = 0; i < runs; i++) {
        size_t cap = HEADER + (next(&seed) % PAGES + 1) * 4096;

        LLVMFuzzerTestOneInput(buf, make_input(buf, cap, &seed));
    }
    printf("ok 1 - fuzz-pt-walk: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
