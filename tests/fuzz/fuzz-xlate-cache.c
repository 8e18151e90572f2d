/*
 * qemu-viommu: fuzz target for the translate fast path (hw/viommu/
 * xlate-cache.c), against a model.
 *
 * The input is a sequence of 16-byte operations on three endpoints (two
 * share a source ID): fill, lookup, remove and re-add, and the three
 * invalidations with any domain, PASID and range. The model keeps every
 * translation filled and not invalidated since. What must hold: a hit is
 * one of those translations of that endpoint, covering the IOVA with its
 * rights; a lookup right after a fill of that page hits; nothing hits in
 * a removed endpoint. With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude tests/fuzz/fuzz-xlate-cache.c hw/viommu/xlate-cache.c
 * Without it, main() replays pseudo-random sequences under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/xlate-cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS     3
#define LIVE    512

typedef struct Live {
    unsigned ep;
    uint64_t iova, mask, output;
    uint32_t pasid;
    uint16_t domain;
    uint8_t perm, flags;
} Live;

static ViommuXcSet set;
static ViommuXc xc[EPS];
static const uint16_t sids[EPS] = { 0x10, 0x18, 0x10 };
static bool added[EPS];
static Live live[LIVE];
static unsigned nlive;

static void fail(const char *what, uint64_t iova)
{
    fprintf(stderr, "fuzz-xlate-cache: %s at 0x%llx\n", what,
            (unsigned long long)iova);
    abort();
}

static void drop_where(bool (*match)(const Live *, const void *),
                       const void *arg)
{
    unsigned i = 0;

    while (i < nlive) {
        if (match(&live[i], arg)) {
            live[i] = live[--nlive];
        } else {
            i++;
        }
    }
}

typedef struct Range {
    uint16_t domain;
    uint32_t pasid;
    uint64_t start, last;
} Range;

static bool in_range(const Live *l, const void *arg)
{
    const Range *r = arg;

    return l->domain == r->domain && r->start <= r->last &&
           (r->pasid == VIOMMU_XC_ANY_PASID || r->pasid == l->pasid) &&
           l->iova <= r->last && (l->iova | l->mask) >= r->start;
}

static bool of_sid(const Live *l, const void *arg)
{
    return sids[l->ep] == *(const uint16_t *)arg;
}

static bool of_ep(const Live *l, const void *arg)
{
    return l->ep == *(const unsigned *)arg;
}

static bool any(const Live *l, const void *arg)
{
    return true;
}

static void check_lookup(unsigned ep, uint64_t iova, unsigned perm,
                         bool must_hit)
{
    ViommuXcHit h;
    bool hit = viommu_xc_lookup(&xc[ep], iova, perm, &h);
    unsigned i;

    if (!hit) {
        if (must_hit) {
            fail("a fresh fill missed", iova);
        }
        return;
    }
    if (!added[ep]) {
        fail("a removed endpoint hit", iova);
    }
    for (i = 0; i < nlive; i++) {
        const Live *l = &live[i];
        if (l->ep == ep && l->iova == h.iova && l->mask == h.mask &&
            l->output == h.output && l->perm == h.perm &&
            l->flags == h.flags && (iova & ~l->mask) == l->iova &&
            (l->perm & perm) == perm) {
            return;
        }
    }
    fail("a hit that was invalidated, or never filled", iova);
}

/* IOVAs from few pages and page sizes, so that operations meet. */
static uint64_t iova_of(const uint8_t *op, unsigned *shift)
{
    static const unsigned shifts[4] = { 12, 12, 21, 30 };
    uint64_t v;

    memcpy(&v, op + 8, 8);
    *shift = op[1] & 0x40 ? shifts[op[2] & 3] : 12u + op[2] % 52u;
    return (v & 0x3ffffffull) | (op[1] & 0x80 ? v & ~0x3ffffffull : 0);
}

static void run_op(const uint8_t *op)
{
    unsigned ep = op[0] % EPS, shift, perm = op[3] & 3;
    uint64_t iova = iova_of(op, &shift), mask;
    uint16_t domain = op[4] & 3;
    uint32_t pasid = op[5] & 1 ? 0xffffffffu : op[5] & 0x80 ?
                     VIOMMU_XC_ANY_PASID : (uint32_t)op[5] >> 4;
    Range r;

    switch ((op[0] >> 4) % 8) {
    case 0: case 1:             /* fill, then look it up */
        if (!added[ep] || pasid == VIOMMU_XC_ANY_PASID) {
            break;
        }
        viommu_xc_fill(&xc[ep], iova, shift, (uint64_t)op[6] << 30, perm,
                       domain, pasid, op[7]);
        mask = shift < 64 ? (1ull << shift) - 1 : ~0ull;
        if (perm && nlive < LIVE) {
            live[nlive++] = (Live) {
                .ep = ep, .iova = iova & ~mask, .mask = mask,
                .output = ((uint64_t)op[6] << 30) & ~mask, .pasid = pasid,
                .domain = domain, .perm = perm, .flags = op[7],
            };
        } else if (perm) {
            return;                 /* the model is full: stop checking */
        }
        check_lookup(ep, iova, perm, perm != 0);
        break;
    case 2: case 3:
        check_lookup(ep, iova, perm, false);
        break;
    case 4:
        r = (Range) { domain, pasid, iova, iova + ((uint64_t)op[6] << 12) };
        if (r.last < r.start) {
            r.last = ~0ull;
        }
        viommu_xc_inv_range(&set, domain, pasid, r.start, r.last);
        drop_where(in_range, &r);
        break;
    case 5:
        viommu_xc_inv_sid(&set, sids[ep]);
        drop_where(of_sid, &sids[ep]);
        break;
    case 6:
        if (op[6] & 1) {
            viommu_xc_inv_all(&set);
            drop_where(any, NULL);
        } else if (added[ep]) {
            viommu_xc_remove(&xc[ep]);
            added[ep] = false;
            drop_where(of_ep, &ep);
        } else {
            viommu_xc_add(&set, &xc[ep], sids[ep]);
            added[ep] = true;
        }
        break;
    default:
        check_lookup(ep, iova | (op[6] << 3), perm, false);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned ep;

    viommu_xc_set_init(&set);
    for (ep = 0; ep < EPS; ep++) {
        viommu_xc_add(&set, &xc[ep], sids[ep]);
        added[ep] = true;
    }
    nlive = 0;
    for (; size >= 16; data += 16, size -= 16) {
        run_op(data);
    }
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed ^ (*seed >> 29);
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 200000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 17;
    static uint8_t buf[16 * 256];

    for (int i = 0; i < runs; i++) {
        size_t n = 1 + next(&seed) % 256;
        for (size_t j = 0; j < 16 * n; j += 8) {
            uint64_t v = next(&seed);
            memcpy(buf + j, &v, 8);
        }
        LLVMFuzzerTestOneInput(buf, 16 * n);
    }
    printf("ok 1 - fuzz-xlate-cache: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
