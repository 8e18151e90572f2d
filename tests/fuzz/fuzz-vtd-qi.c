/*
 * qemu-viommu: fuzz target for a VT-d queued-invalidation stream.
 *
 * The input is an invalidation queue as a hostile guest may fill it: its
 * first byte chooses 128- or 256-bit descriptors, the rest are the
 * descriptors. The target decodes them in order, as the device's queue
 * does, up to the first invalid one (where IQE would stop the queue), and
 * checks what must hold of any decoded descriptor: a known type, a range
 * that is a naturally aligned power of two (or everything), no field
 * outside its width. With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude tests/fuzz/fuzz-vtd-qi.c hw/viommu/vtd-qi.c
 * Without it, main() replays pseudo-random queues under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-qi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const VtdInvDesc *d)
{
    uint64_t size = d->last - d->start;         /* size - 1 */

    if (d->type < VTD_INV_CONTEXT || d->type > VTD_INV_PASID_DEVICE_IOTLB ||
        d->start > d->last || (size & (size + 1)) || (d->start & size) ||
        d->pasid > 0xfffff || d->fm > 3 || d->iec_mask > 31 ||
        (d->status_addr & 3)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool wide;
    size_t step, off;
    uint64_t q[4];
    VtdInvDesc d;

    if (size < 1) {
        return 0;
    }
    wide = data[0] & 1;
    step = wide ? 32 : 16;
    for (off = 1; off + step <= size; off += step) {
        memset(q, 0, sizeof(q));
        memcpy(q, data + off, step);
        if (!vtd_inv_decode(q, wide, &d)) {
            break;                              /* IQE: the queue stops */
        }
        check(&d);
    }
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed ^ (*seed >> 29);
}

/* Mostly valid descriptors of every type, with the odd stray bit. */
static size_t make_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
    size_t off = 1, step;

    buf[0] = next(seed) & 1;
    step = buf[0] ? 32 : 16;
    while (off + step <= cap) {
        uint64_t q[4] = { 0 };
        unsigned type = 1 + next(seed) % 8;

        q[0] = type | (next(seed) & 0xfffffffffffff0f0ull);
        q[1] = next(seed);
        if (next(seed) % 4) {                   /* clear most stray bits */
            q[0] &= 0x000fffffffff00ffull | 0xfffull << 52;
            q[1] &= ~0xf80ull;
        }
        if (next(seed) % 16 == 0) {
            q[0] ^= 1ull << (next(seed) % 64);
        }
        memcpy(buf + off, q, step);
        off += step;
    }
    return off;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 100000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 5;
    static uint8_t buf[1 + 32 * 64];

    for (int i = 0; i < runs; i++) {
        size_t cap = 1 + (next(&seed) % sizeof(buf));

        LLVMFuzzerTestOneInput(buf, make_input(buf, cap, &seed));
    }
    printf("ok 1 - fuzz-vtd-qi: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
