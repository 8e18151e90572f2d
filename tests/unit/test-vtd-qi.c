/*
 * qemu-viommu: unit tests of VT-d invalidation descriptor decoding
 * (hw/viommu/vtd-qi.c): every type with its fields, address masks,
 * device-IOTLB sizes, each combination of the wait descriptor's flags
 * (Status Write with Interrupt Flag aborts upstream 10.0.2), and
 * reserved bits, granularities and types refused.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include "hw/viommu/vtd-qi.h"
#include "unit.h"

static bool dec(uint64_t q0, uint64_t q1, VtdInvDesc *d)
{
    uint64_t q[4] = { q0, q1, 0, 0 };

    return vtd_inv_decode(q, false, d);
}

static void test_context_and_iotlb(void)
{
    VtdInvDesc d;

    /* context-cache, device-selective: DID 5, SID 0x10, FM 2 */
    CHECK(dec(1 | 3 << 4 | 5 << 16 | 0x10ull << 32 | 2ull << 48, 0, &d));
    CHECK_EQ(d.type, VTD_INV_CONTEXT);
    CHECK_EQ(d.granularity, VTD_INV_CC_DEVICE);
    CHECK_EQ(d.domain, 5);
    CHECK_EQ(d.sid, 0x10);
    CHECK_EQ(d.fm, 2);
    CHECK(!dec(1, 0, &d));                      /* G 0 is reserved */
    CHECK(!dec(1 | 1 << 4, 1, &d));             /* reserved high quadword */
    /* IOTLB page-selective, 16 pages at 0x12340000, IH, drain bits */
    CHECK(dec(2 | 3 << 4 | 3 << 6 | 7 << 16, 0x12345000 | 4 | 0x40, &d));
    CHECK_EQ(d.granularity, VTD_INV_IOTLB_PAGE);
    CHECK_EQ(d.start, 0x12340000);
    CHECK_EQ(d.last, 0x1234ffff);
    CHECK(d.ih);
    /* an address mask past bit 63 covers everything */
    CHECK(dec(2 | 3 << 4, 63, &d));
    CHECK_EQ(d.start, 0);
    CHECK_EQ(d.last, ~0ull);
    CHECK(!dec(2 | 3 << 4 | 1ull << 40, 0, &d));    /* reserved bits */
    CHECK(!dec(2 | 3 << 4, 1 << 7, &d));
}

static void test_device_iotlb(void)
{
    VtdInvDesc d;

    /* one page */
    CHECK(dec(3 | 0x0108ull << 32, 0x5000, &d));
    CHECK_EQ(d.sid, 0x0108);
    CHECK_EQ(d.start, 0x5000);
    CHECK_EQ(d.last, 0x5fff);
    /* S: bits 12 and 13 set, 14 clear: 32 KiB */
    CHECK(dec(3, 0x40003000 | 1, &d));
    CHECK_EQ(d.start, 0x40000000);
    CHECK_EQ(d.last, 0x40007fff);
    /* S with every address bit set: everything */
    CHECK(dec(3, ~0ull & ~0xffeull, &d));
    CHECK_EQ(d.start, 0);
    CHECK_EQ(d.last, ~0ull);
    CHECK(!dec(3, 2, &d));                      /* reserved bit 1 */
    /* PASID-based: SID 15:0 at 31:16, PASID, G, S */
    CHECK(dec(8 | 0x0200ull << 16 | 0x77ull << 32, 1 | 0x9000, &d));
    CHECK_EQ(d.type, VTD_INV_PASID_DEVICE_IOTLB);
    CHECK_EQ(d.sid, 0x0200);
    CHECK_EQ(d.pasid, 0x77);
    CHECK(d.global);
}

static void test_iec_and_wait(void)
{
    VtdInvDesc d;
    unsigned flags;

    CHECK(dec(4 | 1 << 4 | 3ull << 27 | 0x40ull << 32, 0, &d));
    CHECK_EQ(d.granularity, 1);
    CHECK_EQ(d.iec_index, 0x40);
    CHECK_EQ(d.iec_mask, 3);
    CHECK(!dec(4 | 1 << 5, 0, &d));
    /* every combination of IF, SW and FN decodes */
    for (flags = 0; flags < 8; flags++) {
        CHECK(dec(5 | (uint64_t)flags << 4 | 0xabcdull << 32, 0x1004, &d));
        CHECK_EQ(d.wait_if, !!(flags & 1));
        CHECK_EQ(d.wait_sw, !!(flags & 2));
        CHECK_EQ(d.wait_fn, !!(flags & 4));
        CHECK_EQ(d.status_data, 0xabcd);
        CHECK_EQ(d.status_addr, 0x1004);
    }
    CHECK(!dec(5, 1, &d));                      /* status address bit 0 */
}

static void test_pasid_types_and_refusals(void)
{
    uint64_t wide[4] = { 7 | 1 << 4 | 9 << 16 | 0x33ull << 32, 0, 0, 1 };
    VtdInvDesc d;

    CHECK(dec(6 | 3 << 4 | 4 << 16 | 0x12ull << 32, 0x8000 | 1, &d));
    CHECK_EQ(d.pasid, 0x12);
    CHECK_EQ(d.start, 0x8000);
    CHECK_EQ(d.last, 0x9fff);
    CHECK(!dec(6 | 1 << 4, 0, &d));             /* PASID-IOTLB G 1 */
    CHECK(dec(7 | 1 << 4 | 9 << 16 | 0x33ull << 32, 0, &d));
    CHECK_EQ(d.granularity, VTD_INV_PC_PASID);
    CHECK(!dec(7 | 2 << 4, 0, &d));             /* PASID-cache G 2 */
    /* 256-bit descriptors: quadwords 2 and 3 are reserved */
    CHECK(!vtd_inv_decode(wide, true, &d));
    wide[3] = 0;
    CHECK(vtd_inv_decode(wide, true, &d));
    /* unknown types, and the type's high bits */
    CHECK(!dec(0, 0, &d));
    CHECK(!dec(9, 0, &d));
    CHECK(!dec(15, 0, &d));
    CHECK(!dec(1 | 1 << 4 | 1 << 9, 0, &d));
}

/* Each type has its name for traces; anything else is "unknown". */
static void test_type_names(void)
{
    CHECK(strcmp(vtd_inv_type_name(VTD_INV_CONTEXT), "context-cache") == 0);
    CHECK(strcmp(vtd_inv_type_name(VTD_INV_PASID_DEVICE_IOTLB),
                 "pasid-device-iotlb") == 0);
    CHECK(strcmp(vtd_inv_type_name(0), "unknown") == 0);
    CHECK(strcmp(vtd_inv_type_name(9), "unknown") == 0);
    CHECK(strcmp(vtd_inv_type_name((VtdInvType)-1), "unknown") == 0);
}

int main(void)
{
    RUN(test_context_and_iotlb);
    RUN(test_device_iotlb);
    RUN(test_iec_and_wait);
    RUN(test_pasid_types_and_refusals);
    RUN(test_type_names);
    return unit_report("test-vtd-qi");
}
