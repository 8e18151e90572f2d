/*
 * qemu-viommu: fuzz target for the split virtqueue device side.
 *
 * The input is a guest memory image holding a descriptor table, an
 * available ring and buffers, as a hostile driver may lay them out; its
 * first bytes choose the queue size, event idx and the starting index. The
 * target serves it as the virtio-iommu glue does (read the request, write
 * a tail, complete, publish) and checks the ring's own invariants. With
 * libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude -Itests/unit tests/fuzz/fuzz-vring-split.c \
 *       hw/viommu/vring-split.c
 * Without it, main() replays pseudo-random images under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define FAKE_MEM_SIZE 4096
#include "vring-fake-mem.h"

#include <stdio.h>
#include <stdlib.h>

#define DESC 0x000          /* up to 32 descriptors */
#define AVAIL 0x200
#define USED 0x300
#define MAX_CHAINS 4096     /* per input: publish must end the batch */

static VringSplit ring;

static void check_chain(const VringChain *c, uint16_t num)
{
    uint64_t out = 0, in = 0;
    unsigned i;

    if (c->head >= num || c->nr_out + c->nr_in > VRING_MAX_QUEUE ||
        c->out_len + c->in_len > UINT32_MAX) {
        abort();
    }
    for (i = 0; i < c->nr_out + c->nr_in; i++) {
        *(i < c->nr_out ? &out : &in) += c->seg[i].len;
    }
    if (out != c->out_len || in != c->in_len) {
        abort();
    }
}

static VringStatus serve(uint16_t num)
{
    uint8_t req[64], tail[4] = { 0 };
    VringChain *c = &ring.chain;

    check_chain(c, num);
    if (vring_chain_read(&ring, req, sizeof(req)) < 0) {
        return VRING_ERR_ACCESS;
    }
    if (c->in_len >= sizeof(tail) &&
        vring_chain_write(&ring, c->in_len - sizeof(tail), tail,
                          sizeof(tail)) != VRING_OK) {
        return VRING_ERR_ACCESS;
    }
    vring_split_complete(&ring, c->in_len);
    return VRING_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint16_t num, first;
    unsigned chains = 0;
    VringStatus st;

    if (size < 4) {
        return 0;
    }
    num = 1 + data[0] % 32;
    first = data[2] | data[3] << 8;
    memset(mem, 0, sizeof(mem));
    memcpy(mem, data + 4, size - 4 < FAKE_MEM_SIZE ? size - 4 : FAKE_MEM_SIZE);
    vring_split_start(&ring, &ops, NULL, DESC, AVAIL, USED, num,
                      data[1] & 1, first);
    do {
        while ((st = vring_split_pop(&ring)) == VRING_OK &&
               chains++ < MAX_CHAINS) {
            st = serve(num);
            if (st != VRING_OK) {
                break;
            }
        }
        if (st == VRING_EMPTY) {
            st = vring_split_publish(&ring);
        }
    } while (st == VRING_OK && chains < MAX_CHAINS);
    /* every completion is published, and exactly once */
    vring_split_publish(&ring);
    if (ring.nr_done || ring.nr_published > chains ||
        (uint16_t)(ring.used_idx - first) != (uint16_t)ring.nr_published) {
        abort();
    }
    (void)vring_status_str(st);
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 24;
}

/* Mostly well-formed rings, with the odd bad index, flag or address */
static size_t make_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
    uint8_t *m = buf + 4;
    unsigned num = 1 + next(seed) % 32, i, ahead = next(seed) % (num + 2);
    uint16_t first = next(seed) % 8 ? next(seed) : 0xffff - next(seed) % 4;

    memset(buf, 0, cap);
    buf[0] = num - 1;
    buf[1] = next(seed);
    buf[2] = first;
    buf[3] = first >> 8;
    for (i = 0; i < 32; i++) {
        uint8_t *d = m + DESC + 16 * i;
        uint64_t addr = 0x400 + next(seed) % 0xc00;
        uint16_t flags = next(seed) % 8, nxt = next(seed) % (num + 1);

        memcpy(d, &addr, 8);
        d[8] = next(seed) % 64;
        d[9] = next(seed) % 16 == 0 ? 0xff : 0;
        d[11] = next(seed) % 32 == 0 ? 0x90 : 0;
        if (flags & 4) {
            /* mostly a proper table: whole entries, no NEXT */
            addr = 0x800 + 16 * (next(seed) % 64);
            memcpy(d, &addr, 8);
            d[8] = 16 * (1 + next(seed) % 6) + (next(seed) % 8 == 0);
            d[9] = d[11] = 0;
            flags = next(seed) % 8 == 0 ? flags : 4;
        } else if (next(seed) % 16 == 0) {
            addr = next(seed) << 20;
            memcpy(d, &addr, 8);
        }
        d[12] = flags;
        d[14] = nxt;
    }
    /* indirect tables, and buffers, in the rest */
    for (i = 0x800; i < FAKE_MEM_SIZE; i += 16) {
        uint8_t *d = m + i;
        uint64_t addr = 0x400 + next(seed) % 0xc00;

        memcpy(d, &addr, 8);
        d[8] = next(seed) % 64;
        d[12] = next(seed) % 8 == 0 ? 4 : next(seed) % 4;
        d[14] = next(seed) % 8;
    }
    for (i = 0; i < num; i++) {
        m[AVAIL + 4 + 2 * i] = next(seed) % (num + 1);
    }
    m[AVAIL + 2] = (uint16_t)(first + ahead);
    m[AVAIL + 3] = (uint16_t)(first + ahead) >> 8;
    return 4 + FAKE_MEM_SIZE < cap ? 4 + FAKE_MEM_SIZE : cap;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 100000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 7;
    static uint8_t buf[4 + FAKE_MEM_SIZE];

    for (int i = 0; i < runs; i++) {
        LLVMFuzzerTestOneInput(buf, make_input(buf, sizeof(buf), &seed));
    }
    printf("ok 1 - fuzz-vring-split: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
