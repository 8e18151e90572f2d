/*
 * qemu-viommu: VT-d root and context entries (VT-d 4.1, 9.1 to 9.4).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-context.h"

#define ENTRY_P         1ull
#define ADDR_MASK       (~0xfffull)

/*
 * Legacy context entry: lo FPD 1, T 3:2, 11:4 reserved; hi AW 2:0,
 * AVAIL 6:3, bit 7 reserved, DID 23:8, 63:24 reserved.
 */
#define CTX_FPD         (1ull << 1)
#define CTX_LO_RESERVED (0xffull << 4)
#define CTX_HI_RESERVED (1ull << 7 | ~0ull << 24)

VtdDmaFault vtd_root_context_table(uint64_t lo, uint64_t hi, bool scalable,
                                   uint8_t devfn, const VtdCaps *caps,
                                   uint64_t *table)
{
    uint64_t entry = scalable && devfn >= 128 ? hi : lo;

    if (!scalable && hi) {
        return VTD_FR_ROOT_RESERVED;    /* the legacy upper half is reserved */
    }
    if (!(entry & ENTRY_P)) {
        return VTD_FR_ROOT_NOT_PRESENT;
    }
    if ((entry & ~ENTRY_P & ~ADDR_MASK) ||
        (entry & ADDR_MASK & ~caps->haw_mask)) {
        return VTD_FR_ROOT_RESERVED;
    }
    *table = entry & ADDR_MASK;
    return VTD_FR_OK;
}

VtdDmaFault vtd_context_decode(uint64_t lo, uint64_t hi, const VtdCaps *caps,
                               VtdContext *ctx, bool *fpd)
{
    unsigned type = (lo >> 2) & 3, aw = hi & 7;

    *fpd = lo & CTX_FPD;
    if (!(lo & ENTRY_P)) {
        return VTD_FR_CONTEXT_NOT_PRESENT;
    }
    if ((lo & CTX_LO_RESERVED) || (hi & CTX_HI_RESERVED) ||
        (type != VTD_TT_PASS_THROUGH &&
         (lo & ADDR_MASK & ~caps->haw_mask))) {
        return VTD_FR_CONTEXT_RESERVED;
    }
    if (type == 3 || (type == VTD_TT_PASS_THROUGH && !caps->pass_through) ||
        (type == VTD_TT_ALL && !caps->device_iotlb)) {
        return VTD_FR_CONTEXT_INVALID;
    }
    /* AW names the table's levels (and is ignored for pass-through) */
    if (type != VTD_TT_PASS_THROUGH &&
        (aw < 1 || aw > 3 || !(caps->sagaw & (1u << aw)))) {
        return VTD_FR_CONTEXT_INVALID;
    }
    *ctx = (VtdContext) {
        .type = type,
        .slptptr = lo & ADDR_MASK,
        .levels = 2 + aw,
        .domain = hi >> 8,
        .fpd = *fpd,
    };
    return VTD_FR_OK;
}

VtdDmaFault vtd_fault_from_walk(ViommuPtFault fault, bool write)
{
    switch (fault) {
    case VIOMMU_PT_OK:
        return VTD_FR_OK;
    case VIOMMU_PT_NOT_PRESENT:
    case VIOMMU_PT_PERM:
        return write ? VTD_FR_WRITE : VTD_FR_READ;
    case VIOMMU_PT_ADDR_WIDTH:
        return VTD_FR_ADDR_BEYOND_AGAW;
    case VIOMMU_PT_READ_FAILED:
    case VIOMMU_PT_TOO_LARGE:
        return VTD_FR_PAGING_READ;
    case VIOMMU_PT_BAD_CONFIG:
        return VTD_FR_CONTEXT_INVALID;
    default:                            /* RESERVED, BAD_LEVEL */
        return VTD_FR_PAGING_RESERVED;
    }
}
