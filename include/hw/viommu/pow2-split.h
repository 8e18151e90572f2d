/*
 * qemu-viommu: a range as naturally aligned power-of-two blocks.
 *
 * IOMMU notifiers take a mapping as blocks whose size is a power of two and
 * to which both the IOVA and the output address are aligned; virtio-iommu,
 * and the notifier shadow of the VT-d and AMD-Vi models, split with this.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_POW2_SPLIT_H
#define HW_VIOMMU_POW2_SPLIT_H

#include <stdint.h>

/* The low @bits bits set (all 64 for @bits >= 64): an aligned block's mask. */
static inline uint64_t viommu_low_mask(unsigned bits)
{
    return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/*
 * Splits [start, end] into naturally aligned power-of-two blocks, none
 * larger than the alignment of @delta (phys - virt, 0 for none), so that
 * each block is aligned on both sides. Blocks cover the range exactly.
 */
typedef void (*ViommuBlockFn)(uint64_t start, uint64_t size_mask, void *opaque);
void viommu_split_pow2(uint64_t start, uint64_t end, uint64_t delta,
                       ViommuBlockFn fn, void *opaque);

#endif
