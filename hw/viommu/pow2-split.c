/*
 * qemu-viommu: a range as naturally aligned power-of-two blocks.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/pow2-split.h"

void viommu_split_pow2(uint64_t start, uint64_t end, uint64_t delta,
                       ViommuBlockFn fn, void *opaque)
{
    /* Blocks no larger than the alignment of the virt-to-phys offset */
    int delta_align = delta ? __builtin_ctzll(delta) : 64;

    for (;;) {
        uint64_t left = end - start;              /* size - 1 */
        int align = start ? __builtin_ctzll(start) : 64;
        int fit = left == UINT64_MAX ? 64 : 63 - __builtin_clzll(left + 1);
        int k = align < fit ? align : fit;
        uint64_t mask;

        k = k < delta_align ? k : delta_align;
        mask = k == 64 ? UINT64_MAX : (1ull << k) - 1;
        fn(start, mask, opaque);
        if (mask == left) {
            return;
        }
        start += mask + 1;
    }
}
