/*
 * qemu-viommu: fuzz target for an AMD-Vi command buffer.
 *
 * The input is a command buffer as a hostile guest may fill it: its first
 * byte chooses what the model offers, the rest are 16-byte commands. The
 * target decodes them in order, as the device does, up to the first
 * illegal one (where ILLEGAL_COMMAND_ERROR stops the buffer), and checks
 * what must hold of any decoded command: a defined opcode that is offered,
 * a range that is a naturally aligned power of two, an 8-byte aligned
 * store address within 52 bits, a PASID within 20 bits. With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -DVIOMMU_LIBFUZZER \
 *       -Iinclude tests/fuzz/fuzz-amd-cmd.c hw/viommu/amd-cmd.c
 * Without it, main() replays pseudo-random buffers under ASan and UBSan.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const AmdCmd *c, const AmdCmdCaps *caps)
{
    uint64_t size = c->last - c->start;         /* size - 1 */

    if (c->type < AMD_CMD_COMPLETION_WAIT || c->type > AMD_CMD_INV_IOMMU_ALL ||
        (c->type == AMD_CMD_INV_IOMMU_ALL && !caps->invalidate_all) ||
        (c->type == AMD_CMD_COMPLETE_PPR_REQUEST && !caps->ppr) ||
        (c->type == AMD_CMD_PREFETCH_IOMMU_PAGES && !caps->prefetch) ||
        c->start > c->last || (size & (size + 1)) || (c->start & size) ||
        (c->cw_addr & 7) || c->cw_addr >> 52 || c->pasid > 0xfffff ||
        (c->gn && !caps->guest)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    AmdCmdCaps caps;
    size_t off;
    uint32_t d[4];
    AmdCmd c;

    if (size < 1) {
        return 0;
    }
    caps = (AmdCmdCaps) {
        .invalidate_all = data[0] & 1, .ppr = data[0] & 2,
        .guest = data[0] & 4, .prefetch = data[0] & 8,
    };
    for (off = 1; off + 16 <= size; off += 16) {
        memcpy(d, data + off, 16);
        if (!amd_cmd_decode(d, &caps, &c)) {
            break;                      /* ILLEGAL_COMMAND: buffer stops */
        }
        check(&c, &caps);
    }
    return 0;
}

#ifndef VIOMMU_LIBFUZZER
static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed ^ (*seed >> 29);
}

/* Mostly well-formed commands of every opcode, with the odd stray bit. */
static size_t make_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
    size_t off = 1;

    buf[0] = next(seed) & 15;
    while (off + 16 <= cap) {
        uint32_t d[4];
        unsigned op = next(seed) % 10;

        for (int i = 0; i < 4; i++) {
            d[i] = next(seed);
        }
        d[1] = (d[1] & 0x0fffffffu) | op << 28;
        if (next(seed) % 4) {                   /* mostly plausible */
            d[0] &= 0x000fffffu;
            d[1] &= 0xf00fffffu;
            d[2] &= 0xfffff003u;
        }
        if (next(seed) % 16 == 0) {
            d[next(seed) % 4] ^= 1u << (next(seed) % 32);
        }
        memcpy(buf + off, d, 16);
        off += 16;
    }
    return off;
}

/* inputs replayed by make unit (an argument overrides it) */
#define FUZZ_RUNS 100000

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : FUZZ_RUNS;
    uint64_t seed = 11;
    static uint8_t buf[1 + 16 * 64];

    for (int i = 0; i < runs; i++) {
        size_t cap = 1 + (next(&seed) % sizeof(buf));

        LLVMFuzzerTestOneInput(buf, make_input(buf, cap, &seed));
    }
    printf("ok 1 - fuzz-amd-cmd: %d inputs\n1..1\n", runs);
    return 0;
}
#endif
