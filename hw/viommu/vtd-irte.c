/*
 * qemu-viommu: VT-d interrupt remapping, request and IRTE decoding.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/vtd-irte.h"

/*
 * Remappable request address (5.1.2.2): bit 4 format, 3 SHV, 19:5 and 2
 * the handle.
 */
#define ADDR_REMAPPABLE     (1u << 4)
#define ADDR_SHV            (1u << 3)

/* IRTE, low quadword (9.10) */
#define IRTE_P              (1ull << 0)
#define IRTE_FPD            (1ull << 1)
#define IRTE_DM             (1ull << 2)
#define IRTE_RH             (1ull << 3)
#define IRTE_TM             (1ull << 4)
#define IRTE_IM             (1ull << 15)
#define IRTE_LO_RESERVED    (0x7ull << 12 | 0xffull << 24)
/* high quadword: SID 15:0, SQ 17:16, SVT 19:18, the rest reserved */
#define IRTE_HI_RESERVED    (~0ull << 20)

#define SVT_NONE            0
#define SVT_SID             1
#define SVT_BUS_RANGE       2

VtdIrFault vtd_ir_request_index(uint64_t addr, uint32_t data,
                                uint32_t *index, bool *compat)
{
    uint32_t handle;

    *compat = !(addr & ADDR_REMAPPABLE);
    if (addr >> 32) {
        return VTD_IR_REQ_RESERVED;
    }
    if (*compat) {
        return VTD_IR_OK;
    }
    handle = ((addr >> 5) & 0x7fff) | ((addr >> 2) & 1) << 15;
    *index = handle + (addr & ADDR_SHV ? (data & 0xffff) : 0);
    return VTD_IR_OK;
}

bool vtd_ir_fault_qualified(VtdIrFault fault)
{
    return fault == VTD_IR_NOT_PRESENT || fault == VTD_IR_IRTE_RESERVED;
}

/* Source-ID verification (9.10, SVT and SQ). */
static bool sid_ok(uint64_t hi, uint16_t sid)
{
    uint16_t want = hi & 0xffff;
    unsigned sq = (hi >> 16) & 3;
    /* SQ: which low bits of the function number are ignored */
    static const uint16_t ignore[4] = { 0, 0x4, 0x6, 0x7 };

    switch ((hi >> 18) & 3) {
    case SVT_NONE:
        return true;
    case SVT_SID:
        return ((sid ^ want) & ~ignore[sq]) == 0;
    default:                            /* SVT_BUS_RANGE */
        return (sid >> 8) >= (want >> 8) && (sid >> 8) <= (want & 0xff);
    }
}

VtdIrFault vtd_irte_decode(uint64_t lo, uint64_t hi, bool eim, uint16_t sid,
                           VtdIrq *irq, bool *fpd)
{
    uint32_t dest = lo >> 32;
    unsigned dlm = (lo >> 5) & 7;

    *fpd = lo & IRTE_FPD;
    if (!(lo & IRTE_P)) {
        return VTD_IR_NOT_PRESENT;
    }
    if ((lo & (IRTE_LO_RESERVED | IRTE_IM)) || (hi & IRTE_HI_RESERVED) ||
        ((hi >> 18) & 3) == 3 || dlm == 3 || dlm == 6 ||
        (!eim && (dest & 0xffff00ffu))) {
        return VTD_IR_IRTE_RESERVED;    /* IM: posted format, not offered */
    }
    if (!sid_ok(hi, sid)) {
        return VTD_IR_SID_MISMATCH;
    }
    *irq = (VtdIrq) {
        .dest = eim ? dest : (dest >> 8) & 0xff,
        .vector = lo >> 16,
        .delivery_mode = dlm,
        .dest_logical = lo & IRTE_DM,
        .redir_hint = lo & IRTE_RH,
        .level = lo & IRTE_TM,
    };
    return VTD_IR_OK;
}
