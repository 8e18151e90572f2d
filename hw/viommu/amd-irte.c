/*
 * qemu-viommu: AMD-Vi interrupt remapping table entries (AMD IOMMU spec
 * rev. 3.x, 2.2.5).
 *
 * 32 bits: RemapEn 0, SupIOPF 1, IntType 4:2, RqEoi 5, DM 6, 7 reserved,
 * Destination 15:8, Vector 23:16, 31:24 reserved.
 * 128 bits: GuestMode in bit 7 (vAPIC posting, not offered).
 * 128 bits: the same low byte, Destination[23:0] in 31:8, GATag 63:32;
 * Vector 71:64, GA root pointer 115:76, Destination[31:24] in 127:120,
 * 75:72 and 119:116 reserved.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-irte.h"

#define REMAP_EN        (1u << 0)
#define SUP_IOPF        (1u << 1)
#define RQ_EOI          (1u << 5)
#define DM              (1u << 6)
#define GUEST_MODE      (1u << 7)
#define HI_RESERVED     (0xfull << 8 | 0xfull << 52)

static bool type_reserved(unsigned type)
{
    return type == 3 || type == 6;
}

/* The fields of the low byte, common to both formats (bit 7: @ga). */
static AmdIrteFault low_byte(uint32_t b, bool ga, AmdIrq *irq,
                             bool *sup_iopf)
{
    *sup_iopf = b & SUP_IOPF;
    if (!(b & REMAP_EN)) {
        return AMD_IRTE_NOT_REMAPPED;
    }
    if (b & GUEST_MODE) {
        return ga ? AMD_IRTE_GUEST_MODE : AMD_IRTE_RESERVED;
    }
    irq->int_type = (b >> 2) & 7;
    if (type_reserved(irq->int_type)) {
        return AMD_IRTE_RESERVED;
    }
    irq->rq_eoi = b & RQ_EOI;
    irq->dest_logical = b & DM;
    return AMD_IRTE_OK;
}

AmdIrteFault amd_irte_decode32(uint32_t irte, AmdIrq *irq, bool *sup_iopf)
{
    AmdIrq out = { 0 };
    AmdIrteFault f = low_byte(irte & 0xff, false, &out, sup_iopf);

    if (f == AMD_IRTE_OK && (irte >> 24)) {
        f = AMD_IRTE_RESERVED;
    }
    if (f == AMD_IRTE_OK) {
        out.dest = (irte >> 8) & 0xff;
        out.vector = irte >> 16;
        *irq = out;
    }
    return f;
}

AmdIrteFault amd_irte_decode_ga(uint64_t lo, uint64_t hi, bool xt,
                                AmdIrq *irq, bool *sup_iopf)
{
    AmdIrq out = { 0 };
    AmdIrteFault f = low_byte(lo & 0xff, true, &out, sup_iopf);
    uint32_t dest = ((lo >> 8) & 0xffffff) | (uint32_t)(hi >> 56) << 24;

    if (f == AMD_IRTE_OK && ((hi & HI_RESERVED) || (!xt && dest > 0xff))) {
        f = AMD_IRTE_RESERVED;
    }
    if (f == AMD_IRTE_OK) {
        out.dest = dest;
        out.vector = hi & 0xff;
        *irq = out;
    }
    return f;
}
