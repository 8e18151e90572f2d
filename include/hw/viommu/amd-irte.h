/*
 * qemu-viommu: AMD-Vi interrupt remapping table entries (AMD IOMMU spec
 * rev. 3.x, 2.2.5 "Interrupt Remapping Tables"): the 32-bit legacy format
 * and the 128-bit format of GAEn (guest virtual APIC, with x2APIC
 * destinations when XTEn is set).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_VIOMMU_AMD_IRTE_H
#define HW_VIOMMU_AMD_IRTE_H

#include <stdbool.h>
#include <stdint.h>

/* IntType (2.2.5.1) */
#define AMD_IRTE_FIXED          0
#define AMD_IRTE_ARBITRATED     1
#define AMD_IRTE_SMI            2
#define AMD_IRTE_NMI            4
#define AMD_IRTE_INIT           5
#define AMD_IRTE_EXTINT         7

typedef enum AmdIrteFault {
    AMD_IRTE_OK = 0,
    AMD_IRTE_NOT_REMAPPED,      /* RemapEn clear: IO_PAGE_FAULT (no RZ) */
    AMD_IRTE_RESERVED,          /* reserved bits or type: IO_PAGE_FAULT, RZ */
    AMD_IRTE_GUEST_MODE,        /* GuestMode (vAPIC posting): not offered */
} AmdIrteFault;

/* A remapped interrupt, as the entry gives it. */
typedef struct AmdIrq {
    uint32_t dest;              /* APIC ID: 8 bits unless x2APIC (XTEn) */
    uint8_t vector;
    uint8_t int_type;           /* AMD_IRTE_* */
    bool dest_logical;          /* DM */
    bool rq_eoi;                /* RqEoi */
} AmdIrq;

/*
 * Decodes a 32-bit IRTE. On AMD_IRTE_OK fills *@irq. *@sup_iopf is the
 * entry's SupIOPF (suppress the IO_PAGE_FAULT event), whatever the result.
 */
AmdIrteFault amd_irte_decode32(uint32_t irte, AmdIrq *irq, bool *sup_iopf);

/*
 * Decodes a 128-bit IRTE (@lo bits 63:0, @hi bits 127:64); @xt: XTEn, a
 * 32-bit destination (else 8 bits, the rest reserved). Fields of the
 * guest virtual APIC mode (GATag, GA root pointer) are not checked when
 * GuestMode is clear.
 */
AmdIrteFault amd_irte_decode_ga(uint64_t lo, uint64_t hi, bool xt,
                                AmdIrq *irq, bool *sup_iopf);

#endif
