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
                                    &table), VTD_FR_SM_ROOT_NOT_PRESENT);
    CHECK_EQ(vtd_root_context_table(0x5000 | 5, 0, true, 0, &caps, &table),
             VTD_FR_SM_ROOT_RESERVED);
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

static const VtdCaps sm_caps = {
    .sagaw = 1u << 1 | 1u << 2,
    .pass_through = true, .device_iotlb = true,
    .first_stage = true, .second_stage = true, .fl5lp = false,
    .haw_mask = (1ull << 46) - 1,
};

static void test_sm_context(void)
{
    uint64_t q[4] = { 0x9000 | 1 | 1 << 2 | 1 << 3 | 2 << 9, 0x12345, 0, 0 };
    VtdSmContext ctx;
    bool fpd;

    CHECK_EQ(vtd_sm_context_decode(q, &sm_caps, &ctx, &fpd), VTD_FR_OK);
    CHECK_EQ(ctx.pasid_dir, 0x9000);
    CHECK_EQ(ctx.pasid_dir_entries, 512);
    CHECK_EQ(ctx.rid_pasid, 0x12345);
    CHECK(ctx.dte && ctx.pasid_enable);
    q[3] = 1;                                   /* reserved quadword */
    CHECK_EQ(vtd_sm_context_decode(q, &sm_caps, &ctx, &fpd),
             VTD_FR_SM_CONTEXT_RESERVED);
    q[3] = 0;
    q[1] |= 1ull << 21;
    CHECK_EQ(vtd_sm_context_decode(q, &sm_caps, &ctx, &fpd),
             VTD_FR_SM_CONTEXT_RESERVED);
    q[1] = 0;
    q[0] &= ~1ull;
    q[0] |= 2;
    CHECK_EQ(vtd_sm_context_decode(q, &sm_caps, &ctx, &fpd),
             VTD_FR_SM_CONTEXT_NOT_PRESENT);
    CHECK(fpd);
}

static uint64_t dir[1024];

static bool dir_read(void *opaque, uint64_t addr, uint64_t *entry)
{
    if (addr < 0x9000 || addr >= 0x9000 + sizeof(dir)) {
        return false;
    }
    *entry = dir[(addr - 0x9000) / 8];
    return true;
}

static void test_pasid_lookup(void)
{
    VtdSmContext ctx = { .pasid_dir = 0x9000, .pasid_dir_entries = 128 };
    uint64_t table = 0;
    bool fpd;

    dir[3] = 0xa000 | 1;
    CHECK_EQ(vtd_pasid_table(&ctx, 3 << 6 | 5, &sm_caps, dir_read, NULL,
                             &table, &fpd), VTD_FR_OK);
    CHECK_EQ(table, 0xa000);
    CHECK_EQ(vtd_pasid_table(&ctx, 4 << 6, &sm_caps, dir_read, NULL, &table,
                             &fpd), VTD_FR_SM_PASID_DIR_NOT_PRESENT);
    dir[4] = 0xb000 | 1 | 1 << 5;
    CHECK_EQ(vtd_pasid_table(&ctx, 4 << 6, &sm_caps, dir_read, NULL, &table,
                             &fpd), VTD_FR_SM_PASID_DIR_RESERVED);
    CHECK_EQ(vtd_pasid_table(&ctx, 128 << 6, &sm_caps, dir_read, NULL, &table,
                             &fpd), VTD_FR_SM_PASID_TOO_LARGE);
    ctx.pasid_dir_entries = 1u << 14;
    CHECK_EQ(vtd_pasid_table(&ctx, 2000 << 6, &sm_caps, dir_read, NULL,
                             &table, &fpd), VTD_FR_SM_PASID_DIR_READ);
}

static void test_pasid_entry(void)
{
    /* second stage, AW 2 (4 levels), DID 7, page snoop */
    uint64_t q[8] = { 0xc000 | 1 | 2 << 2 | 2 << 6, 7 | 1u << 24 };
    VtdPasidEntry pe;
    bool fpd;

    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd), VTD_FR_OK);
    CHECK_EQ(pe.pgtt, VTD_PGTT_SECOND_STAGE);
    CHECK_EQ(pe.ssptptr, 0xc000);
    CHECK_EQ(pe.ss_levels, 4);
    CHECK_EQ(pe.domain, 7);
    CHECK(pe.pgsnp);
    /* first stage, 4 levels, supervisor requests */
    q[0] = 1 | 1 << 6;
    q[2] = 0xd000 | 1;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd), VTD_FR_OK);
    CHECK_EQ(pe.flptptr, 0xd000);
    CHECK_EQ(pe.fs_levels, 4);
    CHECK(pe.sre);
    /* 5-level first stage without FL5LP; PGTT 0 and 5; AW 3 not offered */
    q[2] |= 1 << 2;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd),
             VTD_FR_SM_PASID_INVALID);
    q[0] = 1;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd),
             VTD_FR_SM_PASID_INVALID);
    q[0] = 1 | 5 << 6;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd),
             VTD_FR_SM_PASID_INVALID);
    q[0] = 0xc000 | 1 | 3 << 2 | 2 << 6;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd),
             VTD_FR_SM_PASID_INVALID);
    /* pass-through; not present */
    q[0] = 1 | 4 << 6;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd), VTD_FR_OK);
    CHECK_EQ(pe.pgtt, VTD_PGTT_PASS_THROUGH);
    q[0] = 2;
    CHECK_EQ(vtd_pasid_entry_decode(q, &sm_caps, &pe, &fpd),
             VTD_FR_SM_PASID_NOT_PRESENT);
    CHECK(fpd);
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
    RUN(test_sm_context);
    RUN(test_pasid_lookup);
    RUN(test_pasid_entry);
    RUN(test_walk_faults);
    return unit_report("test-vtd-context");
}
