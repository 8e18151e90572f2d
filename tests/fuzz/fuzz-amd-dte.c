/*
 * qemu-viommu: fuzz target for AMD-Vi device tables and the I/O page
 * tables they point at.
 *
 * The input is guest memory as a hostile guest may fill it: a device
 * table of 32-byte entries at its start, and whatever else follows, read
 * as page tables. For each entry the target decodes it as the device does
 * (EFR.HATS from the first byte: 4, 5 or 6 levels), then, for an entry
 * that translates, walks a few IOVAs through the memory and visits its
 * leaves, and checks what must hold for any contents: a decoded mode
 * within 1 and HATS, a page-aligned root and an interrupt table within the
 * address width, at most 2048 IRTEs, a walk that reads at most one entry a
 * level and gives page-aligned output within the width, and a visit
 * bounded by its read limit. With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude tests/fuzz/fuzz-amd-dte.c hw/viommu/amd-dte.c \
 *       hw/viommu/pt-walk.c
 * Without it, main() replays pseudo-random tables under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-dte.h"
#include "hw/viommu/pt-walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES       8
#define OUT_MASK    ((1ull << 48) - 1)
#define MAX_READS   2048

static uint64_t mem[PAGES * 512];
static unsigned reads;

static bool mem_read(void *opaque, uint64_t addr, uint64_t *entry)
{
    reads++;
    if (addr >= sizeof(mem) || (addr & 7)) {
        return false;
    }
    *entry = mem[addr / 8];
    return true;
}

static int count_leaf(const ViommuPtResult *res, void *opaque)
{
    if ((res->output & 0xfff) || (res->output & ~OUT_MASK)) {
        abort();
    }
    return 0;
}

static void check_dte(const AmdDte *d, int hats)
{
    if ((d->dma == AMD_DTE_DMA_TRANSLATED &&
         (d->mode < 1 || d->mode > hats || (d->root & 0xfff) ||
          (d->root & ~OUT_MASK))) ||
        (d->iv && (d->irt_entries > 2048 || (d->irt_root & ~OUT_MASK))) ||
        d->int_ctl > AMD_DTE_INTCTL_REMAP) {
        abort();
    }
}

static void walk(const AmdDte *d, uint64_t iova)
{
    ViommuPtConfig cfg = {
        .fmt = &viommu_pt_amd_v1, .root = d->root, .levels = d->mode,
        .out_mask = OUT_MASK, .max_reads = MAX_READS, .read = mem_read,
    };
    ViommuPtResult res;
    ViommuPtFault f;

    reads = 0;
    f = viommu_pt_walk(&cfg, iova, VIOMMU_PT_READ, &res);
    if (reads > (unsigned)d->mode ||
        (f == VIOMMU_PT_OK && ((res.output & 0xfff) ||
                               (res.output & ~OUT_MASK)))) {
        abort();
    }
    reads = 0;
    viommu_pt_for_each_leaf(&cfg, iova & ~0xffffffull, iova | 0xffffff,
                            count_leaf, NULL, &f);
    if (reads > MAX_READS) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int hats;
    size_t n;

    if (size < 1 + AMD_DTE_SIZE) {
        return 0;
    }
    hats = 4 + data[0] % 3;
    memset(mem, 0, sizeof(mem));
    n = size - 1 < sizeof(mem) ? size - 1 : sizeof(mem);
    memcpy(mem, data + 1, n);
    for (size_t i = 0; i + AMD_DTE_SIZE <= n && i < 16 * AMD_DTE_SIZE;
         i += AMD_DTE_SIZE) {
        AmdDte d;

        if (amd_dte_decode(&mem[i / 8], hats, OUT_MASK, &d) != AMD_DTE_OK) {
            continue;                   /* ILLEGAL_DEV_TABLE_ENTRY */
        }
        check_dte(&d, hats);
        if (d.dma == AMD_DTE_DMA_TRANSLATED) {
            walk(&d, mem[(i / 8 + 3) % (sizeof(mem) / 8)]);
            walk(&d, (uint64_t)i << 12);
        }
    }
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed ^ (*seed >> 29);
}

/* Entries that mostly look like Linux's, tables that point inside. */
static size_t make_input(uint8_t *buf, size_t nq, uint64_t *seed)
{
    buf[0] = next(seed);
    for (size_t i = 0; i < nq; i++) {
        uint64_t v = next(seed);

        if (i < 64 && i % 4 == 0 && next(seed) % 2) {
            v = 3 | (1 + next(seed) % 6) << 9 | (next(seed) % PAGES) << 12 |
                3ull << 61;
        } else if (i < 64 && i % 4 != 0 && next(seed) % 2) {
            v = i % 4 == 2 ? 1 | 9 << 1 | 2ull << 60 : 0;
        } else if (next(seed) % 2) {    /* a pointer into the image */
            v = 1 | (v & 7) << 9 | (v % PAGES) << 12 | (v & 3ull << 61);
        } else if (next(seed) % 2) {
            v &= 0xfff;
        }
        memcpy(buf + 1 + 8 * i, &v, 8);
    }
    return 1 + 8 * nq;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 20000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 13;
    static uint8_t buf[1 + PAGES * 4096];

    for (int i = 0; i < runs; i++) {
        size_t nq = 8 + next(&seed) % (PAGES * 512 - 8);

        LLVMFuzzerTestOneInput(buf, make_input(buf, nq, &seed));
    }
    printf("ok 1 - fuzz-amd-dte: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
