/*
 * qemu-viommu: little-endian fields in byte buffers, for the core.
 *
 * Virtio's structures are little-endian (virtio 1.3, 1.4): requests and
 * PROBE properties (5.13.6), descriptors and rings (2.7). These read and
 * write them byte by byte, whatever the host's order and alignment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_LE_H
#define HW_VIOMMU_LE_H

#include <stdint.h>

static inline uint16_t le_ld16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static inline uint32_t le_ld32(const uint8_t *p)
{
    return le_ld16(p) | (uint32_t)le_ld16(p + 2) << 16;
}

static inline uint64_t le_ld64(const uint8_t *p)
{
    return le_ld32(p) | (uint64_t)le_ld32(p + 4) << 32;
}

static inline void le_st16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static inline void le_st32(uint8_t *p, uint32_t v)
{
    le_st16(p, v);
    le_st16(p + 2, v >> 16);
}

static inline void le_st64(uint8_t *p, uint64_t v)
{
    le_st32(p, v);
    le_st32(p + 4, v >> 32);
}

#endif
