/*
 * qemu-viommu: AMD-Vi device table entries (AMD IOMMU spec rev. 3.x,
 * 2.2.2).
 *
 * Quadword 0: V 0, TV 1, 6:2 reserved, HAD 8:7, Mode 11:9, page-table
 * root 51:12, PPR 52, GRPR 53, GIoV 54, GV 55, GLX 57:56, GCR3 60:58,
 * IR 61, IW 62, 63 reserved.
 * Quadword 1: DomainID 15:0, GCR3 31:16, I 32, SE 33, SA 34, IoCtl 36:35,
 * Cache 37, SD 38, EX 39, SysMgt 41:40, 42 reserved, GCR3 63:43.
 * Quadword 2: IV 0, IntTabLen 4:1, IG 5, interrupt table root 51:6,
 * 55:52 reserved, InitPass 56, EIntPass 57, NMIPass 58, 59 reserved,
 * IntCtl 61:60, Lint0Pass 62, Lint1Pass 63.
 * Quadword 3: 53:0 reserved, AttrV 54, Mode0FC 55, SnoopAttribute 63:56.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "hw/viommu/amd-dte.h"
#include "hw/viommu/pt-walk.h"

#define Q0_V            (1ull << 0)
#define Q0_TV           (1ull << 1)
#define Q0_MODE_SHIFT   9
#define Q0_ROOT         0x000ffffffffff000ull
#define Q0_IR           (1ull << 61)
#define Q0_IW           (1ull << 62)
/* 6:2, HAD, PPR, GRPR, GIoV, GV, GLX, GCR3, 63: features not offered */
#define Q0_RESERVED     (0x7cull | 3ull << 7 | 0x1ffull << 52 | 1ull << 63)

#define Q1_I            (1ull << 32)
#define Q1_SE           (1ull << 33)
#define Q1_SA           (1ull << 34)
#define Q1_EX           (1ull << 39)
#define Q1_SYSMGT_SHIFT 40
/* GCR3 31:16 and 63:43, bit 42 */
#define Q1_RESERVED     (0xffffull << 16 | 0x1fffffull << 43 | 1ull << 42)

#define Q2_IV           (1ull << 0)
#define Q2_IG           (1ull << 5)
#define Q2_IRT_ROOT     0x000fffffffffffc0ull
#define Q2_INIT_PASS    (1ull << 56)
#define Q2_EINT_PASS    (1ull << 57)
#define Q2_NMI_PASS     (1ull << 58)
#define Q2_LINT0_PASS   (1ull << 62)
#define Q2_LINT1_PASS   (1ull << 63)
#define Q2_RESERVED     (0xfull << 52 | 1ull << 59)

/*
 * 53:0; AttrV, Mode0FC and SnoopAttribute are accepted and ignored: they
 * ask for memory attributes, which have no meaning for emulated DMA
 */
#define Q3_RESERVED     ((1ull << 54) - 1)

/*
 * IntTabLen n: 2^n entries, 1 (0000b) to 2048 (1011b); 1100b-1111b are
 * reserved. 1024 and 2048 entries are accepted whatever the IOMMU's
 * NumIntRemapMode says, as hardware does: software that programs them
 * (other AMD-Vi drivers do, for the IOAPIC) sizes the table itself.
 */
#define INTTABLEN_MAX   11

static AmdDteFault decode_dma(uint64_t q0, uint64_t q1, int max_mode,
                              uint64_t out_mask, AmdDte *d)
{
    d->perm = (q0 & Q0_IR ? VIOMMU_PT_READ : 0) |
              (q0 & Q0_IW ? VIOMMU_PT_WRITE : 0);
    d->domain = q1 & 0xffff;
    d->iotlb = q1 & Q1_I;
    d->suppress_repeats = q1 & Q1_SE;
    d->suppress_faults = q1 & Q1_SA;
    d->allow_exclusion = q1 & Q1_EX;
    d->sysmgt = (q1 >> Q1_SYSMGT_SHIFT) & 3;
    if (!(q0 & Q0_TV)) {
        d->dma = AMD_DTE_DMA_BLOCKED;
        return AMD_DTE_OK;
    }
    d->mode = (q0 >> Q0_MODE_SHIFT) & 7;
    if (d->mode == 0) {
        d->dma = AMD_DTE_DMA_MODE0;
        return AMD_DTE_OK;
    }
    d->root = q0 & Q0_ROOT;
    if (d->mode > max_mode || (d->root & ~out_mask)) {
        return AMD_DTE_RESERVED;
    }
    d->dma = AMD_DTE_DMA_TRANSLATED;
    return AMD_DTE_OK;
}

static AmdDteFault decode_interrupts(uint64_t q2, uint64_t out_mask,
                                     AmdDte *d)
{
    unsigned len = (q2 >> 1) & 0xf;
    unsigned ctl = (q2 >> 60) & 3;

    d->iv = q2 & Q2_IV;
    if (!d->iv) {
        return AMD_DTE_OK;
    }
    if ((q2 & Q2_RESERVED) || ctl == 3) {
        return AMD_DTE_RESERVED;
    }
    d->init_pass = q2 & Q2_INIT_PASS;
    d->eint_pass = q2 & Q2_EINT_PASS;
    d->nmi_pass = q2 & Q2_NMI_PASS;
    d->lint0_pass = q2 & Q2_LINT0_PASS;
    d->lint1_pass = q2 & Q2_LINT1_PASS;
    d->int_ctl = ctl;
    d->ig = q2 & Q2_IG;
    d->irt_root = q2 & Q2_IRT_ROOT;
    if (len > INTTABLEN_MAX || (d->irt_root & ~out_mask)) {
        return AMD_DTE_RESERVED;
    }
    d->irt_entries = 1u << len;
    return AMD_DTE_OK;
}

/* V covers bits 127:2 (DMA), IV bits 255:128 (interrupts): each alone. */
AmdDteFault amd_dte_decode(const uint64_t q[4], int max_mode,
                           uint64_t out_mask, AmdDte *dte)
{
    AmdDte d = { 0 };
    AmdDteFault f = AMD_DTE_OK;

    *dte = d;
    if (q[0] & Q0_V) {
        d.valid = true;
        if ((q[0] & Q0_RESERVED) || (q[1] & Q1_RESERVED) ||
            (q[3] & Q3_RESERVED)) {
            return AMD_DTE_RESERVED;
        }
        f = decode_dma(q[0], q[1], max_mode, out_mask, &d);
    }
    if (f == AMD_DTE_OK) {
        f = decode_interrupts(q[2], out_mask, &d);
    }
    if (f == AMD_DTE_OK) {
        *dte = d;
    }
    return f;
}
