/*
 * qemu-viommu: unit tests of VT-d root and context entry decoding
 * (hw/viommu/vtd-context.c) and of the legacy fault reasons a walk gives.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-context.h"
#include "unit.h"

static const VtdCaps caps = {
    .sagaw = 1u << 1 | 1u << 2,         /* 39 and 48 bits */
    .pass_through = true,
    .device_iotlb = false,
    .haw_mask = (1ull << 46) - 1,
};

static void test_root(void)
{
    uint64_t table = 0;

    CHECK_EQ(vtd_root_context_table(0x5000 | 1, 0, false, 0x80, &caps, &table),
             VTD_FR_OK);
    CHECK_EQ(table, 0x5000);
    CHECK_EQ(vtd_root_context_table(0x5000, 0, false, 0, &caps, &table),
             VTD_FR_ROOT_NOT_PRESENT);
    CHECK_EQ(vtd_root_context_table(0x5000 | 1, 1, false, 0, &caps, &table),
             VTD_FR_ROOT_RESERVED);
    CHECK_EQ(vtd_root_context_table(0x5000 | 3, 0, false, 0, &caps, &table),
             VTD_FR_ROOT_RESERVED);
    CHECK_EQ(vtd_root_context_table((1ull << 50) | 1, 0, false, 0, &caps,
                                    &table), VTD_FR_ROOT_RESERVED);
    /* scalable: the upper half serves devfn 128..255 */
    CHECK_EQ(vtd_root_context_table(0x5000 | 1, 0x6000 | 1, true, 0x7f, &caps,
                                    &table), VTD_FR_OK);
    CHECK_EQ(table, 0x5000);
    CHECK_EQ(vtd_root_context_table(0x5000 | 1, 0x6000 | 1, true, 0x80, &caps,
                                    &table), VTD_FR_OK);
    CHECK_EQ(table, 0x6000);
    CHECK_EQ(vtd_root_context_table(0x5000 | 1, 0x6000, true, 0x80, &caps,
                                    &table), VTD_FR_ROOT_NOT_PRESENT);
}

static void test_context(void)
{
    VtdContext ctx;
    bool fpd;

    /* present, T 00, AW 2 (4 levels), DID 0x1234 */
    CHECK_EQ(vtd_context_decode(0x7000 | 1, 2 | 0x1234 << 8, &caps, &ctx,
                                &fpd), VTD_FR_OK);
    CHECK_EQ(ctx.type, VTD_TT_UNTRANSLATED);
    CHECK_EQ(ctx.slptptr, 0x7000);
    CHECK_EQ(ctx.levels, 4);
    CHECK_EQ(ctx.domain, 0x1234);
    CHECK(!fpd);
    /* pass-through ignores AW */
    CHECK_EQ(vtd_context_decode(1 | 2 << 2, 0, &caps, &ctx, &fpd), VTD_FR_OK);
    CHECK_EQ(ctx.type, VTD_TT_PASS_THROUGH);
    /* not present (FPD still reported), reserved bits, bad T and AW */
    CHECK_EQ(vtd_context_decode(2, 0, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_NOT_PRESENT);
    CHECK(fpd);
    CHECK_EQ(vtd_context_decode(1 | 1 << 4, 2, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_RESERVED);
    CHECK_EQ(vtd_context_decode(1, 2 | 1 << 7, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_RESERVED);
    CHECK_EQ(vtd_context_decode(1, 2 | 1ull << 24, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_RESERVED);
    CHECK_EQ(vtd_context_decode(1 | 3 << 2, 2, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_INVALID);
    CHECK_EQ(vtd_context_decode(1 | 1 << 2, 2, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_INVALID);          /* no device-IOTLB offered */
    CHECK_EQ(vtd_context_decode(1, 3, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_INVALID);          /* 57 bits not offered */
    CHECK_EQ(vtd_context_decode(1, 0, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_INVALID);
    CHECK_EQ(vtd_context_decode((1ull << 47) | 1, 2, &caps, &ctx, &fpd),
             VTD_FR_CONTEXT_RESERVED);
}

static void test_walk_faults(void)
{
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_OK, false), VTD_FR_OK);
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_NOT_PRESENT, false), VTD_FR_READ);
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_PERM, true), VTD_FR_WRITE);
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_ADDR_WIDTH, true),
             VTD_FR_ADDR_BEYOND_AGAW);
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_READ_FAILED, false),
             VTD_FR_PAGING_READ);
    CHECK_EQ(vtd_fault_from_walk(VIOMMU_PT_RESERVED, false),
             VTD_FR_PAGING_RESERVED);
}

int main(void)
{
    RUN(test_root);
    RUN(test_context);
    RUN(test_walk_faults);
    return unit_report("test-vtd-context");
}
