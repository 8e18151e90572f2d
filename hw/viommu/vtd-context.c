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
    VtdDmaFault reserved = scalable ? VTD_FR_SM_ROOT_RESERVED
                                    : VTD_FR_ROOT_RESERVED;

    if (!scalable && hi) {
        return reserved;                /* the legacy upper half is reserved */
    }
    if (!(entry & ENTRY_P)) {
        return scalable ? VTD_FR_SM_ROOT_NOT_PRESENT : VTD_FR_ROOT_NOT_PRESENT;
    }
    if ((entry & ~ENTRY_P & ~ADDR_MASK) ||
        (entry & ADDR_MASK & ~caps->haw_mask)) {
        return reserved;
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

/*
 * Scalable-mode context entry (9.4): q0 P 0, FPD 1, DTE 2, PASIDE 3, PRE 4,
 * 8:5 reserved, PDTS 11:9, PASIDDIRPTR 63:12; q1 RID_PASID 19:0, RID_PRIV
 * 20, 63:21 reserved; q2 and q3 reserved.
 */
#define SMC_Q0_RESERVED (0xfull << 5)
#define SMC_Q1_RESERVED (~0ull << 21)

VtdDmaFault vtd_sm_context_decode(const uint64_t q[4], const VtdCaps *caps,
                                  VtdSmContext *ctx, bool *fpd)
{
    *fpd = q[0] & CTX_FPD;
    if (!(q[0] & ENTRY_P)) {
        return VTD_FR_SM_CONTEXT_NOT_PRESENT;
    }
    if ((q[0] & SMC_Q0_RESERVED) || (q[1] & SMC_Q1_RESERVED) || q[2] ||
        q[3] || (q[0] & ADDR_MASK & ~caps->haw_mask)) {
        return VTD_FR_SM_CONTEXT_RESERVED;
    }
    if ((q[0] & (1u << 2)) && !caps->device_iotlb) {
        return VTD_FR_SM_CONTEXT_INVALID;
    }
    *ctx = (VtdSmContext) {
        .pasid_dir = q[0] & ADDR_MASK,
        .pasid_dir_entries = 1u << (((q[0] >> 9) & 7) + 7),
        .rid_pasid = q[1] & 0xfffff,
        .dte = q[0] & (1u << 2),
        .pasid_enable = q[0] & (1u << 3),
        .fpd = *fpd,
    };
    return VTD_FR_OK;
}

VtdDmaFault vtd_pasid_table(const VtdSmContext *ctx, uint32_t pasid,
                            const VtdCaps *caps, ViommuPtReadFn read,
                            void *opaque, uint64_t *table, bool *fpd)
{
    uint32_t index = (pasid & 0xfffff) >> 6;
    uint64_t entry;

    *fpd = false;
    if (pasid > 0xfffff || index >= ctx->pasid_dir_entries) {
        return VTD_FR_SM_PASID_TOO_LARGE;
    }
    if (!read(opaque, ctx->pasid_dir + 8ull * index, &entry)) {
        return VTD_FR_SM_PASID_DIR_READ;
    }
    *fpd = entry & CTX_FPD;
    if (!(entry & ENTRY_P)) {
        return VTD_FR_SM_PASID_DIR_NOT_PRESENT;
    }
    if ((entry & 0xffcull) || (entry & ADDR_MASK & ~caps->haw_mask)) {
        return VTD_FR_SM_PASID_DIR_RESERVED;    /* bits 11:2 */
    }
    *table = entry & ADDR_MASK;
    return VTD_FR_OK;
}

/*
 * Scalable-mode PASID table entry (9.6): q0 P 0, FPD 1, AW 4:2, PGTT 8:6,
 * SSPTPTR 63:12; q1 DID 15:0, PGSNP 24; q2 SRE 0, FLPM 3:2, FLPTPTR 63:12.
 */
VtdDmaFault vtd_pasid_entry_decode(const uint64_t q[8], const VtdCaps *caps,
                                   VtdPasidEntry *pe, bool *fpd)
{
    unsigned aw = (q[0] >> 2) & 7, pgtt = (q[0] >> 6) & 7;
    unsigned flpm = (q[2] >> 2) & 3;
    bool ss = pgtt == VTD_PGTT_SECOND_STAGE || pgtt == VTD_PGTT_NESTED;
    bool fs = pgtt == VTD_PGTT_FIRST_STAGE || pgtt == VTD_PGTT_NESTED;

    *fpd = q[0] & CTX_FPD;
    if (!(q[0] & ENTRY_P)) {
        return VTD_FR_SM_PASID_NOT_PRESENT;
    }
    if ((ss && (q[0] & ADDR_MASK & ~caps->haw_mask)) ||
        (fs && (q[2] & ADDR_MASK & ~caps->haw_mask))) {
        return VTD_FR_SM_PASID_RESERVED;
    }
    if (pgtt < VTD_PGTT_FIRST_STAGE || pgtt > VTD_PGTT_PASS_THROUGH ||
        (pgtt == VTD_PGTT_NESTED &&
         !(caps->first_stage && caps->second_stage)) ||
        (fs && !caps->first_stage) || (ss && !caps->second_stage) ||
        (pgtt == VTD_PGTT_PASS_THROUGH && !caps->pass_through) ||
        (ss && (aw < 1 || aw > 3 || !(caps->sagaw & (1u << aw)))) ||
        (fs && (flpm > 1 || (flpm == 1 && !caps->fl5lp)))) {
        return VTD_FR_SM_PASID_INVALID;
    }
    *pe = (VtdPasidEntry) {
        .pgtt = pgtt,
        .domain = q[1] & 0xffff,
        .ssptptr = ss ? q[0] & ADDR_MASK : 0,
        .ss_levels = ss ? 2 + (int)aw : 0,
        .flptptr = fs ? q[2] & ADDR_MASK : 0,
        .fs_levels = fs ? 4 + (int)flpm : 0,
        .sre = q[2] & 1,
        .pgsnp = q[1] & (1u << 24),
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
