/*
 * qemu-viommu: unit tests of VT-d interrupt request and IRTE decoding
 * (hw/viommu/vtd-irte.c): handles and subhandles, the compatibility
 * format, every field of a remappable IRTE, xAPIC and x2APIC destinations,
 * reserved fields and encodings, posted IRTEs refused, source-ID
 * verification in each of its forms.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-irte.h"
#include "unit.h"

/* A present, remappable IRTE: vector, destination field, flags. */
static uint64_t irte_lo(uint8_t vector, uint32_t dest_field, uint64_t flags)
{
    return 1 | flags | (uint64_t)vector << 16 | (uint64_t)dest_field << 32;
}

static uint64_t irte_hi(uint16_t sid, unsigned sq, unsigned svt)
{
    return sid | (uint64_t)sq << 16 | (uint64_t)svt << 18;
}

static void test_request_index(void)
{
    uint32_t index = 0;
    bool compat = true;

    /* handle 0x1234 in address bits 19:5, no subhandle */
    CHECK_EQ(vtd_ir_request_index(0xfee00000u | 0x1234 << 5 | 1 << 4, 0x99,
                                  &index, &compat), VTD_IR_OK);
    CHECK(!compat);
    CHECK_EQ(index, 0x1234);
    /* handle bit 15 is address bit 2; SHV adds data 15:0 */
    CHECK_EQ(vtd_ir_request_index(0xfee00000u | 3 << 5 | 1 << 4 | 1 << 3 |
                                  1 << 2, 0xabcd0005, &index, &compat),
             VTD_IR_OK);
    CHECK_EQ(index, 0x8000 + 3 + 5);
    /* compatibility format */
    CHECK_EQ(vtd_ir_request_index(0xfee01000u, 0x30, &index, &compat),
             VTD_IR_OK);
    CHECK(compat);
    /* address bits 63:32 are reserved */
    CHECK_EQ(vtd_ir_request_index(1ull << 32 | 0xfee00010u, 0, &index,
                                  &compat), VTD_IR_REQ_RESERVED);
}

static void test_decode_fields(void)
{
    VtdIrq irq;
    bool fpd;

    /* xAPIC: APIC ID in destination bits 15:8; level, logical, lowest */
    CHECK_EQ(vtd_irte_decode(irte_lo(0x41, 0x0300, 1 << 4 | 1 << 2 | 1 << 3 |
                                     1 << 5),
                             0, false, 0x10, &irq, &fpd), VTD_IR_OK);
    CHECK_EQ(irq.dest, 3);
    CHECK_EQ(irq.vector, 0x41);
    CHECK(irq.level && irq.dest_logical && irq.redir_hint);
    CHECK_EQ(irq.delivery_mode, 1);
    CHECK(!fpd);
    /* x2APIC: all 32 bits, an APIC ID above 255 */
    CHECK_EQ(vtd_irte_decode(irte_lo(0x22, 0x12c, 0), 0, true, 0, &irq, &fpd),
             VTD_IR_OK);
    CHECK_EQ(irq.dest, 0x12c);
    /* the same destination field is reserved in xAPIC mode */
    CHECK_EQ(vtd_irte_decode(irte_lo(0x22, 0x12c, 0), 0, false, 0, &irq, &fpd),
             VTD_IR_IRTE_RESERVED);
}

static void test_decode_refusals(void)
{
    VtdIrq irq;
    bool fpd;

    /* not present, with FPD reported */
    CHECK_EQ(vtd_irte_decode(2, 0, true, 0, &irq, &fpd), VTD_IR_NOT_PRESENT);
    CHECK(fpd);
    CHECK(vtd_ir_fault_qualified(VTD_IR_NOT_PRESENT));
    CHECK(!vtd_ir_fault_qualified(VTD_IR_SID_MISMATCH));
    /* reserved bits 14:12, 31:24 and 127:84; posted (IM); bad DLM; SVT 3 */
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 1 << 12), 0, true, 0, &irq, &fpd),
             VTD_IR_IRTE_RESERVED);
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 1ull << 24), 0, true, 0, &irq,
                             &fpd), VTD_IR_IRTE_RESERVED);
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 0), 1ull << 20, true, 0, &irq,
                             &fpd), VTD_IR_IRTE_RESERVED);
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 1 << 15), 0, true, 0, &irq, &fpd),
             VTD_IR_IRTE_RESERVED);
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 3 << 5), 0, true, 0, &irq, &fpd),
             VTD_IR_IRTE_RESERVED);
    CHECK_EQ(vtd_irte_decode(irte_lo(1, 0, 0), irte_hi(0, 0, 3), true, 0,
                             &irq, &fpd), VTD_IR_IRTE_RESERVED);
}

static void test_source_id(void)
{
    uint64_t lo = irte_lo(0x30, 0, 0);
    VtdIrq irq;
    bool fpd;

    /* SVT 1, SQ 0: all 16 bits */
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 0, 1), true, 0x0108, &irq,
                             &fpd), VTD_IR_OK);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 0, 1), true, 0x010c, &irq,
                             &fpd), VTD_IR_SID_MISMATCH);
    /* SQ 1 ignores bit 2, SQ 2 bits 2:1, SQ 3 bits 2:0 */
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 1, 1), true, 0x010c, &irq,
                             &fpd), VTD_IR_OK);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 1, 1), true, 0x010a, &irq,
                             &fpd), VTD_IR_SID_MISMATCH);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 2, 1), true, 0x010e, &irq,
                             &fpd), VTD_IR_OK);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 3, 1), true, 0x010f, &irq,
                             &fpd), VTD_IR_OK);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0108, 3, 1), true, 0x0110, &irq,
                             &fpd), VTD_IR_SID_MISMATCH);
    /* SVT 2: the requester's bus within [SID 15:8, SID 7:0] */
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0204, 0, 2), true, 0x0300, &irq,
                             &fpd), VTD_IR_OK);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0204, 0, 2), true, 0x0500, &irq,
                             &fpd), VTD_IR_SID_MISMATCH);
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0204, 0, 2), true, 0x01ff, &irq,
                             &fpd), VTD_IR_SID_MISMATCH);
    /* SVT 0: no verification */
    CHECK_EQ(vtd_irte_decode(lo, irte_hi(0x0204, 0, 0), true, 0xffff, &irq,
                             &fpd), VTD_IR_OK);
}

int main(void)
{
    RUN(test_request_index);
    RUN(test_decode_fields);
    RUN(test_decode_refusals);
    RUN(test_source_id);
    return unit_report("test-vtd-irte");
}
